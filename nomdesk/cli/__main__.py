"""`python -m nomdesk.cli`, as the console script `nomdesk` runs it."""

from nomdesk.cli import app

app()
