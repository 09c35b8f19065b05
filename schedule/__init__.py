"""Time-driven work of the desk: reminders before the deadline, the notice after it, the daily digest.

Where each unit stands is read once from storage (status.py: `collect_status`, also used by
the roster and the dashboard's downloads). Deciding is pure (slots.py, reminders.py, digest.py
take statuses and `now`). Sending is jobs.py: `Jobs.tick` claims each (unit, slot, channel) once
in storage and queues it through the desk's notices (notify.replies.Notices) into the outbox,
so it is idempotent and the scheduler (scheduler.py) may call it as often as it likes, from any
number of processes.
"""
