"""Telling people (floor beside `bot`): replies and receipts composed in Chinese, queued, sent.

- `compose.py`: a unit's receipt and dossier, the quarantine and unknown-sender replies, as a clerk
  reads them (per nominee: what is wrong, the measured value, how to fix it).
- `paper.py`: what a receipt says of the stamped paper copy (the reminder once, none once recorded or posted).
- `replies.py`: the reply policy (`Replies`: who gets a reply, suppression of lists and robots,
  the hourly rate slot, receipts of every submission since the last reply) on `Notices`, the one
  way any notice is queued, the scheduler's reminders and digests too.
- `mail.py`, `autoreply.py`: building the MIME message; auto-reply etiquette (RFC 3834).
- `outbox.py`, `smtp.py`: the outbox worker that sends queued rows once (SMTP, a folder, chat channels).
"""
