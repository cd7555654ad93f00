"""The GraphQL schema: every domain's reads, commands and live fields, and the extensions that
guard them.

The root types join the domains' parts in the order the published schema lists their
fields (`gateway/schema.graphql`): clients generate code from that file, so a part's place
here is its fields' place there.
"""

from collections.abc import Callable
from functools import partial

import strawberry
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
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
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from gateway.aftercare.mutations import AftercareMutation
from gateway.aftercare.queries import AftercareQuery
from gateway.archive.queries import ArchiveQuery
from gateway.audit.queries import AuditQuery
from gateway.authors.queries import AuthorQuery
from gateway.backtests.mutations import BacktestMutation
from gateway.backtests.queries import BacktestQuery
from gateway.core.errors import log_errors, should_mask
from gateway.core.execution import GatewayExecutor
from gateway.core.nodes import NodeQuery
from gateway.core.storable_input import RefuseUnstorableText
from gateway.core.websocket_admission import WebSocketAdmission
from gateway.core.wide import SCALARS
from gateway.cost.extension import CostLimit
from gateway.dashboard.queries import DashboardQuery
from gateway.drafts.mutations import DraftMutation
from gateway.drafts.queries import DraftQuery
from gateway.drills.mutations import DrillMutation
from gateway.drills.queries import DrillQuery
from gateway.evidence.mutations import EvidenceMutation
from gateway.evidence.queries import EvidenceQuery
from gateway.incidents.mutations import IncidentMutation
from gateway.incidents.queries import IncidentQuery
from gateway.incidents.subscriptions import IncidentSubscription
from gateway.keys.mutations import ApiKeyMutation
from gateway.keys.queries import ApiKeyQuery
from gateway.lexicon.mutations import LexiconMutation
from gateway.lexicon.queries import LexiconQuery
from gateway.mentions.queries import MentionQuery
from gateway.mentions.subscriptions import MentionSubscription
from gateway.oncall.mutations import OnCallMutation
from gateway.oncall.queries import OnCallQuery
from gateway.operation_metrics import OperationMetrics
from gateway.operations.queries import OperationsQuery
from gateway.partners.mutations import PartnerMutation
from gateway.partners.queries import PartnerQuery
from gateway.people.mutations import PersonMutation
from gateway.people.queries import PersonQuery
from gateway.playbooks.mutations import PlaybookMutation
from gateway.playbooks.queries import PlaybookQuery
from gateway.quiet.mutations import QuietMutation
from gateway.quiet.queries import QuietQuery
from gateway.replies.mutations import ReplyMutation
from gateway.replies.queries import ReplyQuery
from gateway.review.improvements import ImprovementMutation
from gateway.review.mutations import ReviewMutation
from gateway.review.queries import ReviewQuery
from gateway.risk_checks.queries import RiskCheckQuery
from gateway.signals.queries import SignalQuery
from gateway.signals.subscriptions import SignalSubscription
from gateway.sitreps.mutations import SituationReportMutation
from gateway.sitreps.queries import SituationReportQuery
from gateway.statements.legal_review import LegalReviewMutation
from gateway.statements.mutations import StatementMutation
from gateway.statements.queries import StatementQuery
from gateway.stories.queries import StoryQuery
from gateway.tasks.mutations import TaskMutation
from gateway.tasks.queries import TaskQuery
from gateway.watchlists.mutations import SnoozeMutation, WatchlistMutation
from gateway.watchlists.queries import WatchlistPageQuery, WatchlistQuery
from gateway.webhooks.mutations import WebhookMutation
from gateway.webhooks.queries import WebhookQuery
from libs.settings import Settings

MAX_QUERY_DEPTH = 10
# A console's largest screens use a few dozen aliases and well under two thousand tokens;
# beyond that a document is an attempt to multiply work, not a page.
MAX_ALIASES = 30
MAX_TOKENS = 2000

Query = merge_types(
    "Query",
    (
        NodeQuery,
        MentionQuery,
        WatchlistQuery,
        IncidentQuery,
        StoryQuery,
        LexiconQuery,
        SignalQuery,
        TaskQuery,
        StatementQuery,
        ReviewQuery,
        WatchlistPageQuery,
        AuthorQuery,
        DashboardQuery,
        ReplyQuery,
        PlaybookQuery,
        WebhookQuery,
        ApiKeyQuery,
        RiskCheckQuery,
        OperationsQuery,
        BacktestQuery,
        QuietQuery,
        PartnerQuery,
        EvidenceQuery,
        DrillQuery,
        DraftQuery,
        SituationReportQuery,
        PersonQuery,
        AuditQuery,
        ArchiveQuery,
        OnCallQuery,
        AftercareQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        WatchlistMutation,
        LexiconMutation,
        IncidentMutation,
        TaskMutation,
        SnoozeMutation,
        PlaybookMutation,
        StatementMutation,
        LegalReviewMutation,
        ReviewMutation,
        AftercareMutation,
        ReplyMutation,
        WebhookMutation,
        ApiKeyMutation,
        BacktestMutation,
        QuietMutation,
        PartnerMutation,
        EvidenceMutation,
        DrillMutation,
        DraftMutation,
        SituationReportMutation,
        ImprovementMutation,
        PersonMutation,
        OnCallMutation,
    ),
)
Subscription = merge_types(
    "Subscription", (SignalSubscription, IncidentSubscription, MentionSubscription)
)


class GatewaySchema(strawberry.Schema):
    """The schema, logging each error at the level its cause deserves (`log_errors`)
    instead of strawberry's ERROR with a traceback for every mistake a client makes."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log `errors` before they are masked, so the log keeps what the client is not shown."""
        log_errors(errors, execution_context.operation_name if execution_context else None)


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    """Build the schema; unless development was chosen, unexpected errors are masked and
    introspection is refused (clients generate code from `gateway/schema.graphql`)."""
    development = settings is not None and settings.is_development
    # Factories, not instances: each request gets fresh extensions, while the parse and
    # validation caches behind them are shared by the whole process. The depth and alias
    # limiters each make a new rule class when built, and the validation cache keys on the
    # rule classes: built per request they would make every document a cache miss, so their
    # rules are made once here and added by a plain AddValidationRules per request.
    limits = [
        *QueryDepthLimiter(max_depth=MAX_QUERY_DEPTH).validation_rules,
        *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
        *(() if development else (NoSchemaIntrospectionCustomRule,)),
    ]
    priced = settings if settings is not None else Settings()
    extensions: list[Callable[[], SchemaExtension]] = [
        OperationMetrics,  # outermost: times and counts what the others let through or refuse
        partial(ParserCache, maxsize=256),
        partial(ValidationCache, maxsize=256),
        RefuseUnstorableText,  # after the validation cache: see its docstring
        partial(MaxTokensLimiter, max_token_count=MAX_TOKENS),
        partial(AddValidationRules, limits),
        WebSocketAdmission,
        # After admission, so a refused key is never charged (docs/graphql.md#cost).
        partial(
            CostLimit, max_cost=priced.graphql_max_cost, per_minute=priced.graphql_cost_per_minute
        ),
    ]
    if not development:
        extensions.append(partial(MaskErrors, should_mask_error=should_mask))
    return GatewaySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        execution_context_class=GatewayExecutor,
        config=StrawberryConfig(scalar_map=SCALARS),
    )
