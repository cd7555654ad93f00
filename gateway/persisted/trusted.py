"""Trusted documents: the operations a deployment's consoles ship, registered at start.

A manifest is what the client's build writes out: Apollo's persisted-query manifest
(`{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id",
"name", "type", "body"}]}`, from `generate-persisted-query-manifest`) or Relay's
(`{"<id>": "<text>", ...}`, from `relay-compiler` with `persistConfig`). Each document is
found by the manifest's id and by the SHA-256 of its text, so a client may send either the
id alone or the full text.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gateway.persisted.automatic import sha256_hex

APOLLO_FORMAT = "apollo-persisted-query-manifest"


class ManifestError(ValueError):
    """A manifest that cannot be read; the gateway does not start on one."""


@dataclass
class TrustedDocuments:
    """Registered documents by id (the manifest's, and each text's SHA-256)."""

    by_id: dict[str, str] = field(default_factory=dict)

    def register(self, document_id: str, document: str) -> None:
        """Register `document` under `document_id` and under its own hash."""
        self.by_id[document_id] = document
        self.by_id[sha256_hex(document)] = document

    def find(self, document_id: str) -> str | None:
        """Return the registered document with this id or hash, if any."""
        return self.by_id.get(document_id)

    def trusts(self, document: str) -> bool:
        """Whether this exact text was registered."""
        return sha256_hex(document) in self.by_id

    def __len__(self) -> int:
        return len(set(self.by_id.values()))

    @classmethod
    def load(cls, paths: Iterable[Path]) -> "TrustedDocuments":
        """Read every manifest in `paths`; raise ManifestError naming one that is malformed."""
        documents = cls()
        for path in paths:
            try:
                manifest = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ManifestError(f"trusted documents manifest {path}: {exc}") from exc
            for document_id, document in _operations(manifest, path):
                documents.register(document_id, document)
        return documents

    @classmethod
    def from_setting(cls, listed: str) -> "TrustedDocuments":
        """Load the comma-separated manifest paths of TRUSTED_DOCUMENTS_MANIFEST."""
        return cls.load(Path(item.strip()) for item in listed.split(",") if item.strip())


def _operations(manifest: object, path: Path) -> list[tuple[str, str]]:
    """The (id, text) pairs of an Apollo or a Relay manifest."""
    if isinstance(manifest, Mapping) and manifest.get("format") == APOLLO_FORMAT:
        if manifest.get("version") != 1:
            raise ManifestError(f"{path}: only version 1 of Apollo's manifest is understood")
        operations = manifest.get("operations")
        if not isinstance(operations, list):
            raise ManifestError(f"{path}: `operations` must be a list")
        pairs = []
        for operation in operations:
            if not (
                isinstance(operation, Mapping)
                and isinstance(operation.get("id"), str)
                and isinstance(operation.get("body"), str)
            ):
                raise ManifestError(f"{path}: every operation needs a string `id` and `body`")
            pairs.append((operation["id"], operation["body"]))
        return pairs
    if isinstance(manifest, Mapping) and all(
        isinstance(key, str) and isinstance(value, str) for key, value in manifest.items()
    ):
        return list(manifest.items())
    raise ManifestError(
        f"{path}: neither Apollo's persisted-query manifest nor Relay's {{id: text}} object"
    )
