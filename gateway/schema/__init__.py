"""The GraphQL schema: read fields, command mutations and the extensions that guard them."""

from collections.abc import Callable
from functools import partial

import strawberry
from strawberry.extensions import (
    MaskErrors,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

from gateway.schema.errors import should_mask
from gateway.schema.mutations import Mutation
from gateway.schema.queries import Query
from libs.settings import Settings

MAX_QUERY_DEPTH = 10


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    """Build the schema; outside development unexpected errors are masked."""
    # Factories, not instances: each request gets fresh extensions, while the parse and
    # validation caches behind them are shared by the whole process.
    extensions: list[Callable[[], SchemaExtension]] = [
        partial(ParserCache, maxsize=256),
        partial(ValidationCache, maxsize=256),
        partial(QueryDepthLimiter, max_depth=MAX_QUERY_DEPTH),
    ]
    if settings is not None and settings.crisiswatch_env != "development":
        extensions.append(partial(MaskErrors, should_mask_error=should_mask))
    return strawberry.Schema(query=Query, mutation=Mutation, extensions=extensions)
