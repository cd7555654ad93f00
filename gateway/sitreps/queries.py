"""Situation reports as a list, the latest first."""

from datetime import datetime

import strawberry
from strawberry import relay

from gateway.core.filters import at_or_after, equals, names
from gateway.core.listing import Key, ListSpec, Sorting
from gateway.sitreps.types import SituationReport, SituationReportState
from libs.database import tables

report = tables.SituationReport


@strawberry.input(description="Narrow a situation-report list; every given condition must hold.")
class SituationReportFilter:
    incident_id: relay.GlobalID | None = names(report.incident_id, "Incident")
    status: SituationReportState | None = equals(report.status)
    since: datetime | None = at_or_after(report.created_at, "Drafted at or after.")


REPORT_ORDER = Sorting("Sort situation reports.", CREATED_AT=Key.time(report.created_at))
REPORT_LIST = ListSpec(
    SituationReport, SituationReportFilter, REPORT_ORDER, noun="a situation-report list"
)


@strawberry.type
class SituationReportQuery:
    situation_reports = REPORT_LIST.connection_field(
        "Situation reports of your organization's incidents, the latest first unless "
        "`orderBy` says otherwise."
    )
