"""Ed25519 signatures of filed documents, and the key they are made with.

A dossier leaves the system and must be shown, later and elsewhere, to be the one it gave
out: a digest alone proves nothing to someone who could have recomputed it, a signature
does. The private key comes from settings as base64 of its 32-byte seed; a placeholder or a
key of the wrong length is refused when settings are read. The public key is published,
and `key_id` (the first 16 hex digits of its SHA-256) names which key signed a document,
so keys can be rotated and old documents still checked.
"""

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ALGORITHM = "Ed25519"
SEED_BYTES = 32
# Values people paste from examples instead of generating a key.
PLACEHOLDERS = frozenset(
    {"changeme", "change-me", "change_me", "placeholder", "secret", "example", "todo", "xxx"}
)


class SigningKeyError(ValueError):
    """A signing key that is not base64 of 32 bytes, or is a placeholder."""


def seed_of(text: str) -> bytes:
    """Return the 32-byte seed `text` (base64) encodes, or raise SigningKeyError."""
    stripped = text.strip()
    if stripped.lower() in PLACEHOLDERS or not stripped:
        raise SigningKeyError("the signing key is a placeholder: generate one (docs/archive.md)")
    try:
        seed = base64.b64decode(stripped, validate=True)
    except (binascii.Error, ValueError) as error:
        raise SigningKeyError("the signing key is not base64") from error
    if len(seed) != SEED_BYTES:
        raise SigningKeyError(f"the signing key must be {SEED_BYTES} bytes, not {len(seed)}")
    if len(set(seed)) == 1:
        raise SigningKeyError("the signing key is a placeholder (one byte repeated)")
    return seed


def new_key() -> str:
    """Return a new random signing key as base64, as the settings take it."""
    seed = Ed25519PrivateKey.generate().private_bytes_raw()
    return base64.b64encode(seed).decode()


def public_key_of(public: Ed25519PublicKey) -> str:
    """Return a public key as base64 of its 32 raw bytes."""
    return base64.b64encode(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def key_id_of(public_key: str) -> str:
    """Return the id of a base64 public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(base64.b64decode(public_key)).hexdigest()[:16]


@dataclass(frozen=True)
class Signer:
    """A private key that signs documents, with the public key and id that check them."""

    private: Ed25519PrivateKey

    @classmethod
    def from_base64(cls, text: str) -> "Signer":
        """Return the signer of a base64 seed, or raise SigningKeyError."""
        return cls(Ed25519PrivateKey.from_private_bytes(seed_of(text)))

    @classmethod
    def generate(cls) -> "Signer":
        """Return a signer of a new random key."""
        return cls(Ed25519PrivateKey.generate())

    @property
    def public_key(self) -> str:
        """The public key as base64 of its 32 raw bytes."""
        return public_key_of(self.private.public_key())

    @property
    def key_id(self) -> str:
        """Which key this is, as documents name it."""
        return key_id_of(self.public_key)

    def sign(self, data: bytes) -> str:
        """Return the Ed25519 signature of `data` as base64."""
        return base64.b64encode(self.private.sign(data)).decode()


def verify(public_key: str, data: bytes, signature: str) -> bool:
    """Return whether `signature` (base64) is the signature of `data` by `public_key`."""
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key))
        key.verify(base64.b64decode(signature), data)
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True
