"""Review reports (复盘), newest first unless sorted otherwise."""

import strawberry
from strawberry import relay

from gateway.core.enums import ReviewState
from gateway.core.errors import REMOVAL
from gateway.core.filters import equals, names, one_of, present
from gateway.core.listing import ListSpec, Sorting, timestamps
from gateway.review.types import REVIEW_STATUSES, ReviewReport
from libs.database import tables

report = tables.ReviewReport


@strawberry.input(description="Narrow a review-report list; every given condition must hold.")
class ReviewReportFilter:
    status: str | None = one_of(
        report.status,
        REVIEW_STATUSES,
        "`draft` or `complete`. Not together with `state`, which replaces it.",
        deprecation_reason=f"Use `state`; {REMOVAL}",
    )
    state: ReviewState | None = equals(
        report.status,
        "DRAFT or COMPLETE. Giving the deprecated `status` too is refused (InvalidInput).",
    )
    completed: bool | None = present(report.completed_at, "Whether someone completed the review.")
    incident_id: relay.GlobalID | None = names(report.incident_id, "Incident")


REVIEW_ORDER = Sorting(
    "Sort review reports.",
    **timestamps(report),
)
REVIEW_LIST = ListSpec(ReviewReport, ReviewReportFilter, REVIEW_ORDER, replaced={"status": "state"})


@strawberry.type
class ReviewQuery:
    review_reports = REVIEW_LIST.connection_field(
        "Review reports (复盘), newest first unless `orderBy` says otherwise."
    )
