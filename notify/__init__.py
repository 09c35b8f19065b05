"""Telling people (floor beside `bot`): replies and receipts composed in Chinese, queued, sent.

- `compose.py`: a unit's receipt and dossier, the quarantine and unknown-sender replies, as a clerk
  reads them (per nominee: what is wrong, the measured value, how to fix it).
- the reply policy (`replies.py`): who gets a reply, when it is suppressed (lists, auto-replies),
  the hourly rate slot, and queueing, for the pipeline and the scheduler alike.
- `mail.py`, `autoreply.py`: building the MIME message; auto-reply etiquette (RFC 3834).
- `outbox.py`, `smtp.py`: the outbox worker that sends queued rows once (SMTP, a folder, chat channels).
"""
