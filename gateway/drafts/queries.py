"""The organization's statement templates as a list, newest version first."""

import strawberry
from sqlmodel import col

from gateway.core.enums import Channel
from gateway.core.filters import equals
from gateway.core.listing import Key, ListSpec, Sorting
from gateway.drafts.types import StatementTemplate
from libs.contracts.enums import StatementStage
from libs.database import tables

template = tables.StatementTemplate


@strawberry.input(description="Narrow a template list; every given condition must hold.")
class StatementTemplateFilter:
    stage: StatementStage | None = equals(template.stage)
    channel: Channel | None = equals(template.channel)


TEMPLATE_ORDER = Sorting(
    "Sort templates.",
    CREATED_AT=Key.time(template.created_at),
    VERSION=Key(col(template.version), int),
)
TEMPLATE_LIST = ListSpec(
    StatementTemplate, StatementTemplateFilter, TEMPLATE_ORDER, noun="a template list"
)


@strawberry.type
class DraftQuery:
    statement_templates = TEMPLATE_LIST.connection_field(
        "Your organization's own statement templates, every version, the newest first."
    )
