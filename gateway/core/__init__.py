"""What every domain of the gateway shares: the request context and its DataLoaders, Relay
nodes and keyset pages, lists declared once (`listing.ListSpec`), the one command path
(`commands.run`), typed refusals and errors, and the plumbing of live subscriptions.

Nothing here knows a domain; domains build on it.
"""
