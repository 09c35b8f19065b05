"""Hand a message to the SMTP relay, telling "try again later" apart from "this will never go"."""

from __future__ import annotations

import datetime as dt
import random
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage


class SmtpError(Exception):
    pass


class SmtpUnavailable(SmtpError):
    """Retryable: the server is unreachable, dropped us, or answered 4xx."""


class SmtpRejected(SmtpError):
    """Permanent: the server answered 5xx; sending again will fail the same way."""


def next_backoff(
    attempts: int, *, base: dt.timedelta = dt.timedelta(seconds=30), cap: dt.timedelta = dt.timedelta(hours=1)
) -> dt.timedelta:
    """Delay before retry number `attempts` (1 = first retry): doubling from `base`, capped, with ±20% jitter."""
    seconds = min(cap.total_seconds(), base.total_seconds() * 2 ** max(0, attempts - 1))
    return dt.timedelta(seconds=seconds * random.uniform(0.8, 1.2))


class SmtpSender:
    def __init__(
        self,
        host: str,
        port: int,
        user: str | None = None,
        password: str | None = None,
        tls: bool = False,
        starttls: bool = False,
        timeout: float = 60.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host, self.port, self.user, self.password = host, port, user, password
        self.tls, self.starttls, self.timeout = tls, starttls, timeout
        self.ssl_context = ssl_context or ssl.create_default_context()

    def send(self, msg: EmailMessage, recipients: Sequence[str]) -> None:
        try:
            if self.tls:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=self.ssl_context
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                if self.starttls and not self.tls:
                    smtp.starttls(context=self.ssl_context)
                if self.user:
                    smtp.login(self.user, self.password or "")
                refused = smtp.send_message(msg, to_addrs=list(recipients))
        except smtplib.SMTPRecipientsRefused as exc:
            self._raise_for_codes({r: c for r, (c, _) in exc.recipients.items()})
            raise SmtpRejected(f"all recipients refused: {exc.recipients}") from exc
        except smtplib.SMTPResponseException as exc:
            kind = SmtpUnavailable if 400 <= exc.smtp_code < 500 else SmtpRejected
            raise kind(f"SMTP {self.host}:{self.port} answered {exc.smtp_code} {exc.smtp_error!r}") from exc
        except smtplib.SMTPServerDisconnected as exc:
            raise SmtpUnavailable(f"SMTP {self.host}:{self.port} dropped the connection: {exc}") from exc
        except smtplib.SMTPException as exc:  # e.g. STARTTLS or AUTH not supported: a configuration error
            raise SmtpRejected(f"SMTP {self.host}:{self.port}: {exc}") from exc
        except OSError as exc:  # refused, timed out, TLS failure, DNS
            raise SmtpUnavailable(f"SMTP {self.host}:{self.port} unreachable: {exc}") from exc
        if refused:
            # Some recipients took it, others did not: resending would duplicate, so report it as permanent.
            raise SmtpRejected(f"refused recipients: {refused}")

    @staticmethod
    def _raise_for_codes(codes: dict[str, int]) -> None:
        if codes and all(400 <= c < 500 for c in codes.values()):
            raise SmtpUnavailable(f"recipients deferred: {codes}")
