"""Pushes held to the organization's mention quotas, refused with a 429 that names the quota.

Both POST routes store mentions that analysis will work on, on workers every organization
shares; `libs.quotas.MentionVolume` counts them per organization a minute and a day. A push
is counted (its valid items) before anything is stored and refused whole when it would
exceed a quota, so a sender learns which quota and how long to wait, and never has to work
out which of its items were kept.
"""

import uuid

from libs.quotas import MentionVolume
from services.ingest.problems import ProblemError
from services.ingest.schemas import QuotaProblem


async def admit(volume: MentionVolume | None, organization_id: uuid.UUID, count: int) -> None:
    """Count `count` mentions of the organization, or refuse the push with 429 naming the quota.

    `volume` None (a caller that counts nothing, such as a test of the storing alone) admits
    every push.
    """
    if volume is None:
        return
    refused = await volume.take(organization_id, count)
    if refused is None:
        return
    error = ProblemError(
        429,
        "Quota exceeded",
        refused.explained,
        headers={"Retry-After": str(refused.retry_after)},
    )
    error.problem = QuotaProblem(
        **error.problem.model_dump(), quota=refused.quota, limit=refused.limit
    )
    raise error
