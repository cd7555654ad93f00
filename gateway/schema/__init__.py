"""The GraphQL schema: read fields, command mutations and the extensions that guard them."""

from collections.abc import Callable
from functools import partial

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.tools import merge_types

from gateway.schema.aftercare_mutations import AftercareMutation
from gateway.schema.api_keys import ApiKeyMutation, ApiKeyQuery
from gateway.schema.errors import should_mask
from gateway.schema.mutations import Mutation as CoreMutation
from gateway.schema.queries import Query as CoreQuery
from gateway.schema.response_mutations import ResponseMutation
from gateway.schema.response_queries import ResponseQuery
from gateway.schema.statement_mutations import StatementMutation
from gateway.schema.subscriptions import Subscription
from gateway.schema.webhook_mutations import WebhookMutation
from gateway.schema.websocket_admission import WebSocketAdmission
from libs.settings import Settings

MAX_QUERY_DEPTH = 10
# A console's largest screens use a few dozen aliases and well under two thousand tokens;
# beyond that a document is an attempt to multiply work, not a page.
MAX_ALIASES = 30
MAX_TOKENS = 2000

# The root types are composed from small modules, one per area, in this order.
Query = merge_types("Query", (CoreQuery, ResponseQuery, ApiKeyQuery))
Mutation = merge_types(
    "Mutation",
    (
        CoreMutation,
        ResponseMutation,
        StatementMutation,
        AftercareMutation,
        WebhookMutation,
        ApiKeyMutation,
    ),
)


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    """Build the schema; outside development unexpected errors are masked."""
    # Factories, not instances: each request gets fresh extensions, while the parse and
    # validation caches behind them are shared by the whole process. The depth and alias
    # limiters each make a new rule class when built, and the validation cache keys on the
    # rule classes: built per request they would make every document a cache miss, so their
    # rules are made once here and added by a plain AddValidationRules per request.
    limits = [
        *QueryDepthLimiter(max_depth=MAX_QUERY_DEPTH).validation_rules,
        *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
    ]
    extensions: list[Callable[[], SchemaExtension]] = [
        partial(ParserCache, maxsize=256),
        partial(ValidationCache, maxsize=256),
        partial(MaxTokensLimiter, max_token_count=MAX_TOKENS),
        partial(AddValidationRules, limits),
        WebSocketAdmission,
    ]
    if settings is not None and settings.crisiswatch_env != "development":
        extensions.append(partial(MaskErrors, should_mask_error=should_mask))
    return strawberry.Schema(
        query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions
    )
