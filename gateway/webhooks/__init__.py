"""Webhooks: where an organization wants events, the delivery log, and its webhook policy.

Reads `webhook_endpoint` (never its secrets), `webhook_delivery` and `webhook_policy`.
Sends CreateWebhookEndpoint, UpdateWebhookEndpoint, RotateWebhookSecret,
DeleteWebhookEndpoint, RedeliverWebhook and SetWebhookPolicy to the notify service.
"""
