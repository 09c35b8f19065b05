"""Alembic migrations of the storage schema (env.py, versions/), driven from storage.migrate."""
