"""The request signatures of the DingTalk and Feishu group bots (加签 / 签名校验).

Both platforms sign a timestamp with the bot's secret rather than the message, so a
signature proves that the sender knows the secret and sent recently (each platform refuses
timestamps more than an hour from its own clock); it does not cover the content. That is
why a request must be signed when it is sent, not when the delivery is first queued: a
retry an hour later with the old timestamp would be refused. WeCom group robots have no
signature; the `key` in the webhook URL is their only credential.
"""

import base64
import hashlib
import hmac
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


def dingtalk_timestamp(now: datetime) -> int:
    """Return DingTalk's `timestamp`: milliseconds since the epoch."""
    _require_aware(now)
    return int(now.timestamp() * 1000)


def feishu_timestamp(now: datetime) -> int:
    """Return Feishu's `timestamp`: whole seconds since the epoch."""
    _require_aware(now)
    return int(now.timestamp())


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """Return base64(HMAC-SHA256(key=secret, msg="{timestamp}\\n{secret}")), not yet URL-encoded.

    The secret is the whole string the robot's security settings show, `SEC` prefix included.
    """
    message = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Return base64(HMAC-SHA256(key="{timestamp}\\n{secret}", msg=b"")).

    Feishu puts the timestamp and secret in the HMAC key and signs an empty message, the
    other way round from DingTalk; mixing the two up is the usual cause of error 19021.
    """
    key = f"{timestamp_s}\n{secret}".encode()
    digest = hmac.new(key, b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def dingtalk_signed_url(url: str, secret: str, now: datetime) -> str:
    """Return `url` with `timestamp` and the URL-encoded `sign` added to its query.

    A `timestamp` or `sign` already in the configured URL (a pasted, once-signed address) is
    replaced; `access_token` and any other parameter are kept in order.
    """
    timestamp = dingtalk_timestamp(now)
    parts = urlsplit(url)
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if name not in {"timestamp", "sign"}
    ]
    query += [("timestamp", str(timestamp)), ("sign", dingtalk_sign(secret, timestamp))]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
