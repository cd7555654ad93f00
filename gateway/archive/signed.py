"""The archive's signer, from settings: one key per process, the same for every request.

Development may run without a key, so one is generated when the process first needs it;
elsewhere an archive without the configured key is refused rather than signed by a key
nobody can publish beforehand.
"""

from functools import lru_cache

from gateway.config import GatewaySettings
from libs.documents.signing import Signer


class NoSigningKeyError(RuntimeError):
    """ARCHIVE_SIGNING_KEY is not set outside development."""


@lru_cache(maxsize=4)
def _signer(key: str | None) -> Signer:
    if key is None:
        return Signer.generate()
    return Signer.from_base64(key)


def signer_for(settings: GatewaySettings) -> Signer:
    """Return the signer `settings` name, or raise NoSigningKeyError."""
    if settings.archive_signing_key is None and not settings.is_development:
        raise NoSigningKeyError("ARCHIVE_SIGNING_KEY is not set: archives cannot be signed.")
    return _signer(settings.archive_signing_key)
