"""The shared vocabularies, registered as GraphQL enums under their own names.

Registering decorates the classes from `libs.contracts.enums` in place, so resolvers use
the very same classes the services store and send.
"""

import strawberry

from libs.contracts.enums import AuthorKind, IncidentStatus, Sentiment, Source, TaskStatus, Tier

strawberry.enum(AuthorKind, description="What kind of account posted.")
strawberry.enum(IncidentStatus, description="Where an incident is in its life.")
strawberry.enum(Sentiment, description="Polarity of a mention (积极 / 中立 / 消极).")
strawberry.enum(Source, description="Where a mention was posted.")
strawberry.enum(TaskStatus, description="State of a response task.")
strawberry.enum(Tier, description="Risk tier, from blue (watch) to red (severe).")

__all__ = ["AuthorKind", "IncidentStatus", "Sentiment", "Source", "TaskStatus", "Tier"]
