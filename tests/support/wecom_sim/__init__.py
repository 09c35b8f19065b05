"""A local WeCom: the documented HTTP API and encrypted callbacks, for testing the desk's bot."""

from tests.support.wecom_sim.server import (
    DEFAULT_AES_KEY,
    DEFAULT_CORP_ID,
    DEFAULT_TOKEN,
    CallbackAttempt,
    Media,
    SentMessage,
    TokenRequest,
    WebhookMessage,
    WeComSimulator,
)

__all__ = [
    "DEFAULT_AES_KEY",
    "DEFAULT_CORP_ID",
    "DEFAULT_TOKEN",
    "CallbackAttempt",
    "Media",
    "SentMessage",
    "TokenRequest",
    "WeComSimulator",
    "WebhookMessage",
]
