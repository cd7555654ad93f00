"""Data keys: a ring of master keys, one derived key per organization and purpose.

Personal data and secrets are sealed with AES-256-GCM. The operator configures master keys
(`CRISISWATCH_DATA_KEY`, the current one, and `CRISISWATCH_DATA_KEYS_PREVIOUS`, older ones
still needed to read); nothing is sealed under a master key directly. Each ciphertext is
sealed under a key derived with HKDF-SHA256 from the current master, the purpose (complaint
contacts, affected users' contacts, endpoint secrets...) and the organization, so one
tenant's key opens nothing of another's, and a key for one purpose opens nothing of another.

Every ciphertext starts with a header naming its format and the master key that sealed it,
so decryption picks the recorded key and `crisiswatch keys rotate` can find what is still
sealed under an old one. Format 1 (written before keys were derived: the single master key
itself, no key id) stays readable under any key of the ring and counts as key id "0".
"""

import base64
import binascii
import hashlib
import hmac
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from libs.settings import Settings

KEY_ENV = "CRISISWATCH_DATA_KEY"
PREVIOUS_ENV = "CRISISWATCH_DATA_KEYS_PREVIOUS"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_ID_BYTES = 4
LEGACY_KEY_ID = "0"
# The first byte of every ciphertext names its format.
_FORMAT_V1 = b"\x01"  # sealed under the master key itself; no key id (before derived keys)
_FORMAT_V2 = b"\x02"  # followed by the sealing master's id; sealed under a derived key
HEADER_BYTES = 1 + KEY_ID_BYTES  # what `DataKey.header` is; format 1 has no key id


class DataKeyError(ValueError):
    """The data key is missing or is not base64 of 32 bytes."""


class DecryptionError(ValueError):
    """A ciphertext was tampered with, belongs to another row, or another key made it."""


class Purpose(StrEnum):
    """What a derived key seals; each purpose has its own key in every organization."""

    COMPLAINT_CONTACTS = "complaint-contacts"
    AFFECTED_USER_CONTACT = "affected-user-contact"
    ENDPOINT_SECRET = "endpoint-secret"
    # The organization's own random keys kept in `organization_key` (the complaint-id HMAC key).
    ORGANIZATION_KEY = "organization-key"


@dataclass(frozen=True)
class Context:
    """Where a ciphertext belongs: its organization and purpose pick the key, `bound` is
    authenticated with it (the row), so a ciphertext moved anywhere else does not decrypt."""

    organization_id: uuid.UUID
    purpose: Purpose
    bound: bytes


def _key_id(master: bytes) -> bytes:
    """A master key's public name: a keyed hash of nothing, useless for finding the key."""
    return hmac.new(master, b"crisiswatch data key id", hashlib.sha256).digest()[:KEY_ID_BYTES]


def _decode(text: str, variable: str) -> bytes:
    cleaned = text.strip()
    try:
        raw = base64.b64decode(cleaned.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError) as error:
        raise DataKeyError(f"{variable} is not valid base64") from error
    if len(raw) != KEY_BYTES:
        raise DataKeyError(
            f"{variable} must be base64 of {KEY_BYTES} random bytes, got {len(raw)} bytes"
        )
    return raw


@dataclass(frozen=True)
class DataKey:
    """The master key ring: `secret` seals, `previous` only opens; reprs never show bytes."""

    secret: bytes = field(repr=False)
    previous: tuple[bytes, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) != KEY_BYTES:
            raise DataKeyError(f"{KEY_ENV} must decode to {KEY_BYTES} bytes")
        if any(len(old) != KEY_BYTES for old in self.previous):
            raise DataKeyError(f"every key in {PREVIOUS_ENV} must decode to {KEY_BYTES} bytes")
        unique = tuple(dict.fromkeys(old for old in self.previous if old != self.secret))
        object.__setattr__(self, "previous", unique)
        ids = [_key_id(master) for master in self.masters]
        if len(set(ids)) != len(ids):  # about one chance in four billion per pair
            raise DataKeyError("two data keys share a key id: generate another new key")

    @classmethod
    def from_base64(cls, text: str, previous: Iterable[str] = ()) -> "DataKey":
        """Build a ring from base64 texts (standard or URL-safe alphabet)."""
        return cls(_decode(text, KEY_ENV), tuple(_decode(old, PREVIOUS_ENV) for old in previous))

    @classmethod
    def from_settings(cls, settings: Settings) -> "DataKey":
        """Return the ring configured in `settings`, or explain what is missing."""
        if not settings.data_key or not settings.data_key.strip():
            raise DataKeyError(
                f"{KEY_ENV} is not set: give base64 of {KEY_BYTES} random bytes "
                "(e.g. from `python -c 'import libs.privacy as p; print(p.generate_key())'`)"
            )
        previous = [item for item in (settings.data_keys_previous or "").split(",") if item.strip()]
        return cls.from_base64(settings.data_key, previous)

    @property
    def masters(self) -> tuple[bytes, ...]:
        """Every master key, the current one first."""
        return (self.secret, *self.previous)

    @property
    def key_id(self) -> str:
        """The current master key's id, as ciphertext headers and the rotation report name it."""
        return _key_id(self.secret).hex()

    @property
    def header(self) -> bytes:
        """The first bytes of everything sealed now: the format and the current key's id."""
        return _FORMAT_V2 + _key_id(self.secret)

    def master(self, key_id: bytes) -> bytes | None:
        """Return the master key with this id, or None when the ring does not hold it."""
        for candidate in self.masters:
            if hmac.compare_digest(_key_id(candidate), key_id):
                return candidate
        return None


def generate_key() -> str:
    """Return a fresh random key as base64 text, ready for CRISISWATCH_DATA_KEY."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def row_context(organization_id: uuid.UUID, row_id: uuid.UUID, purpose: Purpose) -> Context:
    """Return the context that seals `purpose`'s value in one organization's row.

    `bound` is what format 1 authenticated, so ciphertexts written before keys were derived
    still open.
    """
    return Context(organization_id, purpose, b"crisiswatch:" + organization_id.bytes + row_id.bytes)


@lru_cache(maxsize=4096)
def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(master)


def _info(context: Context | bytes) -> bytes:
    """HKDF's info: the purpose and organization, or for plain bytes the bytes themselves.

    A plain-bytes context names no purpose (the empty one, which no `Purpose` is); its
    callers put the organization in it, so their keys are still one organization's.
    """
    if isinstance(context, Context):
        return (
            b"crisiswatch/v2\n"
            + context.purpose.value.encode()
            + b"\n"
            + context.organization_id.bytes
        )
    return b"crisiswatch/v2\n\n" + context


def _bound(context: Context | bytes) -> bytes:
    return context.bound if isinstance(context, Context) else context


def derived_key(master: bytes, context: Context | bytes) -> bytes:
    """Return the AES key `master` gives for `context`'s organization and purpose."""
    return _derive(master, _info(context))


def encrypt(key: DataKey, text: str, context: Context | bytes) -> bytes:
    """Seal `text` under the current master's key for `context`; `context` must match to open.

    A `Context` (see `row_context`) picks the organization's key for its purpose; plain bytes
    get a key of their own and are authenticated as they are.
    """
    header = key.header
    nonce = os.urandom(NONCE_BYTES)
    aead = AESGCM(derived_key(key.secret, context))
    return header + nonce + aead.encrypt(nonce, text.encode("utf-8"), header + _bound(context))


def decrypt(key: DataKey, blob: bytes, context: Context | bytes) -> str:
    """Return the text sealed in `blob`, refusing anything altered or bound elsewhere."""
    fmt = blob[:1]
    if fmt == _FORMAT_V2 and len(blob) >= HEADER_BYTES + NONCE_BYTES + TAG_BYTES:
        header = blob[:HEADER_BYTES]
        master = key.master(header[1:])
        if master is None:
            raise DecryptionError(
                f"sealed under data key {header[1:].hex()}, which is not configured: "
                f"give it in {PREVIOUS_ENV} until `crisiswatch keys rotate` has run"
            )
        nonce = blob[HEADER_BYTES : HEADER_BYTES + NONCE_BYTES]
        sealed = blob[HEADER_BYTES + NONCE_BYTES :]
        return _open(derived_key(master, context), nonce, sealed, header + _bound(context))
    if fmt == _FORMAT_V1 and len(blob) >= 1 + NONCE_BYTES + TAG_BYTES:
        nonce, sealed = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        for master in key.masters:  # format 1 does not say which key: the tag tells
            try:
                return _open(master, nonce, sealed, _bound(context))
            except DecryptionError:
                continue
        raise DecryptionError(
            "ciphertext does not verify: altered, moved to another row, or another key"
        )
    raise DecryptionError("ciphertext is truncated or of an unknown format")


def _open(secret: bytes, nonce: bytes, sealed: bytes, associated: bytes) -> str:
    try:
        clear = AESGCM(secret).decrypt(nonce, sealed, associated)
    except InvalidTag as error:
        raise DecryptionError(
            "ciphertext does not verify: altered, moved to another row, or another key"
        ) from error
    return clear.decode("utf-8")


def sealed_with(blob: bytes) -> str:
    """Return the id of the master key that sealed `blob`: hex, or "0" for format 1."""
    if blob[:1] == _FORMAT_V2 and len(blob) >= HEADER_BYTES:
        return blob[1:HEADER_BYTES].hex()
    if blob[:1] == _FORMAT_V1:
        return LEGACY_KEY_ID
    raise DecryptionError("ciphertext is truncated or of an unknown format")


def reseal(key: DataKey, blob: bytes, context: Context | bytes) -> bytes:
    """Return `blob` sealed again under the current master (itself when it already is)."""
    if blob[:HEADER_BYTES] == key.header:
        return blob
    return encrypt(key, decrypt(key, blob, context), context)
