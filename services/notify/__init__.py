"""The notify service: signed Standard Webhooks and chat-bot alerts for integrators."""
