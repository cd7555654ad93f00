"""The notify service: signed Standard Webhooks and chat-bot alerts for integrators.

Owns (the only writer of) `webhook_endpoint`, `webhook_delivery` and `webhook_policy`.

Consumes the events queue (`crisiswatch:events`): `integration.event.v1`, which the incidents
service publishes, fanned out into one delivery per subscribed endpoint; and the webhook
commands of `libs/contracts/notify.py` (`webhook.create`, `.update`, `.rotate_secret`,
`.delete`, `.redeliver`, `.set_policy`, all v1), each answered with a `CommandResult`.

Emits no queue messages and no live notices: its output is HTTP. The dispatcher loop POSTs
each delivery to its endpoint, a Standard Webhooks request signed with the endpoint's secret
or a card for a WeCom, DingTalk or Feishu group bot, and records the answer.
"""
