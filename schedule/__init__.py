"""Time-driven work of the desk: reminders before the deadline, the notice after it, the daily digest.

Deciding is pure (slots.py, reminders.py, digest.py take statuses and `now`); sending goes
through the outbox (jobs.py) and is idempotent, so the scheduler (scheduler.py) may call
`Jobs.tick` as often as it likes, from any number of processes.
"""
