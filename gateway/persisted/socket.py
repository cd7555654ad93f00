"""The same document rules for operations started on a WebSocket.

Subscriptions run only over graphql-transport-ws, so without this a trusted-documents
gateway would still run any subscription a key composes. A `subscribe` message may name a
document by `extensions.persistedQuery` like an HTTP request; a refusal is the protocol's
`error` message for that operation, and the connection stays open for the others.
"""

from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ErrorMessage,
    SubscribeMessage,
)

from gateway.core.websocket_admission import AdmittingTransportWS
from gateway.persisted.errors import PersistedQueryError
from gateway.persisted.resolve import PersistedDocuments


class PersistedTransportWS(AdmittingTransportWS):
    """graphql-transport-ws whose operations run only documents the gateway accepts."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        documents = getattr(self.view, "documents", None)
        if isinstance(documents, PersistedDocuments) and self.connection_acknowledged:
            payload = message["payload"]
            extensions = payload.get("extensions")
            try:
                resolved = await documents.resolve(
                    self.context.redis, payload.get("query") or None, extensions
                )
            except PersistedQueryError as refused:
                error: ErrorMessage = {
                    "id": message["id"],
                    "type": "error",
                    "payload": [refused.formatted()],
                }
                await self.send_message(error)
                return
            if resolved.query is not None:
                payload["query"] = resolved.query
        await super().handle_subscribe(message)
