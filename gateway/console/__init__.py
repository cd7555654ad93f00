"""The reference console: a static page on /console showing how a frontend uses the gateway.

An example for frontend teams, not a product UI (docs/console.md). Plain ES modules with no
third-party code and no build step: `fetch` for queries and mutations (sent by their
persisted-document hash, `static/documents.json`), a native WebSocket speaking
graphql-transport-ws for subscriptions, and SVG for the dashboard's chart. The page holds
no key until a person types one, so it is served in every environment.
"""
