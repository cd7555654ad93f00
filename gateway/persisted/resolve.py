"""Which document a request runs: its text, or the one its `persistedQuery` hash names.

The rules, in order: a hash the gateway knows runs its document; an unknown hash alone asks
for the text (`PERSISTED_QUERY_NOT_FOUND`); a hash sent with a text must be that text's
SHA-256, and the text is then kept for next time. With trusted documents only, a document
runs only if a manifest registered it, whether named by hash or sent in full; nothing a
request sends is kept, since nothing new could run anyway.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from redis.asyncio import Redis

from gateway.persisted.automatic import AutomaticStore, sha256_hex
from gateway.persisted.errors import (
    HASH_MISMATCH,
    NOT_FOUND,
    NOT_IN_LIST,
    NOT_SUPPORTED,
    PersistedQueryError,
)
from gateway.persisted.trusted import TrustedDocuments
from libs.settings import Settings

NOT_TRUSTED = (
    "This gateway runs only registered documents, and this one is not registered; "
    "add it to the trusted documents manifest."
)


@dataclass(frozen=True)
class Resolved:
    """The document to run; `digest` when it came with a hash, `keep` when it is new."""

    query: str | None
    digest: str | None = None
    keep: bool = False


@dataclass
class PersistedDocuments:
    """Automatic persisted queries, and the registered documents of trusted mode."""

    trusted: TrustedDocuments
    trusted_only: bool = False
    automatic: AutomaticStore = field(default_factory=AutomaticStore)

    @classmethod
    def from_settings(cls, settings: Settings) -> "PersistedDocuments":
        """Load the manifests TRUSTED_DOCUMENTS_MANIFEST names; the mode its own setting says."""
        return cls(
            trusted=TrustedDocuments.from_setting(settings.trusted_documents_manifest),
            trusted_only=settings.trusted_documents_only,
        )

    async def resolve(
        self, redis: Redis, query: str | None, extensions: Mapping[str, object] | None
    ) -> Resolved:
        """Return the document a request runs, or raise PersistedQueryError saying why not."""
        digest = _requested_hash(extensions)
        if digest is None:
            if query is not None and self.trusted_only and not self.trusted.trusts(query):
                raise PersistedQueryError(NOT_IN_LIST, NOT_TRUSTED)
            return Resolved(query)
        if query:
            if sha256_hex(query) != digest and self.trusted.find(digest) != query:
                raise PersistedQueryError(
                    HASH_MISMATCH, "`persistedQuery.sha256Hash` is not the SHA-256 of `query`."
                )
            if self.trusted.trusts(query):
                return Resolved(query, digest)
            if self.trusted_only:
                raise PersistedQueryError(NOT_IN_LIST, NOT_TRUSTED)
            return Resolved(query, digest, keep=True)
        registered = self.trusted.find(digest)
        if registered is not None:
            return Resolved(registered, digest)
        if self.trusted_only:
            raise PersistedQueryError(NOT_IN_LIST, NOT_TRUSTED)
        known = await self.automatic.get(redis, digest)
        if known is None:
            raise PersistedQueryError(NOT_FOUND, "PersistedQueryNotFound")
        return Resolved(known, digest)

    async def keep(self, redis: Redis, resolved: Resolved) -> None:
        """Keep a new document that ran, for the hash-only requests that follow."""
        if resolved.keep and resolved.digest is not None and resolved.query is not None:
            await self.automatic.put(redis, resolved.digest, resolved.query)


def _requested_hash(extensions: Mapping[str, object] | None) -> str | None:
    """The `persistedQuery.sha256Hash` of a request's extensions, if it sent one."""
    if not extensions or "persistedQuery" not in extensions:
        return None
    persisted = extensions["persistedQuery"]
    if not isinstance(persisted, Mapping) or persisted.get("version", 1) != 1:
        raise PersistedQueryError(
            NOT_SUPPORTED, "Only version 1 of `persistedQuery` is understood."
        )
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not digest:
        raise PersistedQueryError(NOT_SUPPORTED, "`persistedQuery` needs a `sha256Hash`.")
    return digest
