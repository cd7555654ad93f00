"""Endpoint secrets: generated, sealed under the data key, and turned into signatures.

A Standard Webhooks secret is `whsec_` followed by base64 of random bytes; the receiver needs
it in clear to verify, so it is shown once when issued and otherwise exists only as AES-GCM
ciphertext under the organization's endpoint-secret key, bound to the endpoint row (chat
bots' signing secrets too). During a rotation both the new and
the previous secret sign every message, so receivers can switch over at their own pace.
"""

import base64
import math
import os
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

from libs.database.tables import WebhookEndpoint
from libs.privacy import Context, DataKey, Purpose, decrypt, encrypt, row_context

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24


def generate_secret() -> str:
    """Return a fresh Standard Webhooks secret: `whsec_` + base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(os.urandom(SECRET_BYTES)).decode("ascii")


def secret_context(endpoint: WebhookEndpoint) -> Context:
    """Secrets are sealed under the organization's endpoint-secret key, bound to the row."""
    return row_context(endpoint.organization_id, endpoint.id, Purpose.ENDPOINT_SECRET)


def seal(key: DataKey, endpoint: WebhookEndpoint, secret: str | None) -> bytes:
    """Return `secret` encrypted for `endpoint`'s row; no secret is stored as empty bytes."""
    if not secret:
        return b""
    return encrypt(key, secret, secret_context(endpoint))


def unseal(key: DataKey, endpoint: WebhookEndpoint, blob: bytes | None) -> str | None:
    """Return the secret sealed in `blob` for `endpoint`, or None when there is none."""
    if not blob:
        return None
    return decrypt(key, blob, secret_context(endpoint))


def signing_secrets(key: DataKey, endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """Return the secrets that sign at `now`: the current one, then the previous during overlap."""
    secrets: list[str] = []
    current = unseal(key, endpoint, endpoint.secret_cipher)
    if current:
        secrets.append(current)
    expires = endpoint.previous_secret_expires_at
    if expires is not None and now < expires:
        previous = unseal(key, endpoint, endpoint.previous_secret_cipher)
        if previous:
            secrets.append(previous)
    return secrets


def webhook_timestamp(now: datetime) -> tuple[str, datetime]:
    """Return the `webhook-timestamp` header (whole seconds) and the instant it stands for."""
    seconds = math.floor(now.timestamp())
    return str(seconds), datetime.fromtimestamp(seconds, UTC)


def signature_header(secrets: list[str], msg_id: str, at: datetime, body: str) -> str:
    """Return `webhook-signature`: one `v1,<base64>` per secret, separated by spaces."""
    return " ".join(Webhook(secret).sign(msg_id, at, body) for secret in secrets)
