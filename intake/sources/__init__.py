"""Where raw messages come from: an IMAP mailbox and a Maildir drop folder."""

from intake.sources.base import IncomingRef, MailboxStateStore, Sink
from intake.sources.imap import ImapPoller, JsonStateStore
from intake.sources.maildir import MaildirSource

__all__ = ["ImapPoller", "IncomingRef", "JsonStateStore", "MailboxStateStore", "MaildirSource", "Sink"]
