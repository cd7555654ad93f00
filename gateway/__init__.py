"""The GraphQL gateway: what frontends read, the commands they send, the changes they follow.

Writes only `api_key`: keys are the authentication data every entry point reads and no
service owns, so admins issue and revoke them here directly. Reads the other tables, always
scoped to the caller's organization: mentions, authors and analyses; watchlists, snoozes
and the sensitive lexicon; stories; risk signals; incidents with their timeline, team, key
facts, tasks, statements, affected users (masked) and review; playbooks; the reply
library; webhook endpoints (never their secrets), deliveries and policy.

Sends commands over the queues and awaits their results, so each change stays with the
service that owns the rows: to analysis CreateWatchlist, UpdateWatchlist and
SetSensitiveTerms; to incidents AcknowledgeIncident, TransitionIncident, ChangeIncidentTier,
AssignRole, SetKeyFacts, CompleteTask, SnoozeWatchlist, SetPlaybook, DraftStatement,
ReviseStatement, ReviewStatement, PublishStatement, UpdateReview, CompleteReview,
AddAffectedUser, CompleteFollowUp and FileReply; to notify CreateWebhookEndpoint,
UpdateWebhookEndpoint, RotateWebhookSecret, DeleteWebhookEndpoint, RedeliverWebhook and
SetWebhookPolicy.

Serves POST /graphql (queries and those mutations, for a bearer key), GraphiQL on GET
/graphql in development only, the `riskSignals`, `incidentUpdates` and `mentions`
subscriptions over a WebSocket on /graphql (fed by the services' live notices in Redis), and
GET /healthz.

Each domain is a folder (`mentions`, `incidents`, `webhooks`, …) with the same file names:
`types.py` (what clients read; the only module other domains may import), `queries.py`,
`mutations.py`, `subscriptions.py` and `loaders.py` (its reads); `core` holds what they all
share and `schema.py` joins them.
"""
