"""Nomination Desk: the intake desk for Jilin's learning-star and brand-project nominations."""
