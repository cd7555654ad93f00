"""The organization's own playbooks, by tier and crisis type."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import strawberry
from sqlmodel import col

from gateway.core.context import Info
from gateway.core.owned import every
from gateway.playbooks.types import Playbook
from libs.database import tables


@strawberry.type
class PlaybookQuery:
    @strawberry.field(
        description=(
            "Your organization's own playbooks, by tier and crisis type. A tier without one "
            "uses the built-in playbook."
        )
    )
    async def playbooks(self, info: Info) -> list[Playbook]:
        playbook = tables.Playbook
        rows = await every(
            info, playbook, col(playbook.tier), col(playbook.crisis_type).collate("C")
        )
        return [Playbook.from_row(row) for row in rows]
