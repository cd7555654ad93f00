"""Refusals of a persisted-document request, with the codes clients act on."""

from graphql import GraphQLFormattedError

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
"""The hash is unknown: send it again with the document's text (Apollo's client does)."""
NOT_IN_LIST = "PERSISTED_QUERY_NOT_IN_LIST"
"""Trusted-documents mode, and the document is not registered: it will not run."""
HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
"""The text sent does not hash to the `sha256Hash` sent with it."""
NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
"""A `persistedQuery` extension this gateway cannot read (another version, no hash)."""


class PersistedQueryError(Exception):
    """A request whose document cannot be found, trusted or read; answered as a GraphQL error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def formatted(self) -> GraphQLFormattedError:
        """The error as a GraphQL response lists it."""
        return {"message": self.message, "extensions": {"code": self.code}}
