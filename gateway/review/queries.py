"""Review reports (复盘), newest first unless sorted otherwise."""

from datetime import datetime

import strawberry
from sqlmodel import col

from gateway.core.listing import Key, ListSpec, OrderDirection, names, one_of, present
from gateway.review.types import REVIEW_STATUSES, ReviewReport, ReviewReportFilter
from libs.database import tables

report = tables.ReviewReport
REVIEW_LIST = ListSpec(
    "ReviewReport",
    kind="review-report",
    table=report,
    node=ReviewReport,
    keys={
        "CREATED_AT": Key(col(report.created_at), datetime),
        "UPDATED_AT": Key(col(report.updated_at), datetime),
    },
    direction=OrderDirection.DESC,
    filter=ReviewReportFilter,
    where={
        "status": one_of(col(report.status), REVIEW_STATUSES),
        "completed": present(col(report.completed_at)),
        "incident_id": names(col(report.incident_id), "Incident"),
    },
    noun="a review-report list",
    description="Sort review reports.",
)


@strawberry.type
class ReviewQuery:
    review_reports = REVIEW_LIST.connection_field(
        "Review reports (复盘), newest first unless `orderBy` says otherwise."
    )
