"""Service settings come from NOMDESK_* variables, with defaults that run out of the box."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import Settings


def test_defaults_run_without_mail_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NOMDESK_IMAP_HOST", "NOMDESK_SMTP_HOST", "NOMDESK_DATA_DIR", "NOMDESK_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    s = Settings()
    assert not s.imap_configured and not s.smtp_configured
    assert s.data_dir == Path("var") and s.port == 8080 and s.reply_rate_per_hour == 5
    assert s.effective_database_url == "sqlite:///var/nomdesk.sqlite3"
    assert s.wecom_api_base == "https://qyapi.weixin.qq.com/cgi-bin/"


def test_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "NOMDESK_IMAP_HOST": "imap.example.cn", "NOMDESK_IMAP_USER": "desk", "NOMDESK_IMAP_PASSWORD": "pw",
        "NOMDESK_IMAP_TLS": "false", "NOMDESK_SMTP_HOST": "smtp.example.cn", "NOMDESK_SMTP_TLS": "true",
        "NOMDESK_MAIL_FROM": "desk@example.cn", "NOMDESK_DATA_DIR": "/srv/desk",
    }  # fmt: skip
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    s = Settings()
    assert s.imap_configured and s.smtp_configured
    assert s.imap_port == 143 and s.smtp_port == 465
    assert s.imap_password is not None and s.imap_password.get_secret_value() == "pw"
    assert "pw" not in repr(s)
    assert s.inbox_dir == Path("/srv/desk/inbox") and s.outbox_dir == Path("/srv/desk/outbox")
