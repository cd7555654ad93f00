"""The daily risk check (定期风险排查): once a day, each organization's state in one digest.

At the configured hour of the organization's local day (`RISK_CHECK_HOUR`, default 9, in
`RISK_CHECK_TIME_ZONE`, default Asia/Shanghai: organizations have no time zone of their
own yet) the schedule (`scheduler.py`, a `libs.messaging.sweep` run once per cluster)
asks `service.py` to check every organization that has no check for that day. A check
reads real rows — watchlists by tier, the last 24 hours' risk signals, negative stories
and rising terms, open incidents and overdue tasks — stores them as one `risk_check` row
(unique per organization and day, so a re-run the same day adds nothing) and records the
`risk_check.completed` integration event in the same transaction, which notify turns into
webhook deliveries and chat-bot cards.
"""
