"""The organization's people, and who the caller acts for."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import strawberry
from sqlmodel import col

from gateway.core.context import Info
from gateway.core.filters import containing, present
from gateway.core.listing import Key, ListSpec, Sorting, timestamps
from gateway.people.types import Person
from libs.database import tables

person = tables.Person


@strawberry.input(description="Narrow the people list; every given condition must hold.")
class PersonFilter:
    name_contains: str | None = containing(person.name, "The name contains this, any case.")
    deactivated: bool | None = present(
        person.deactivated_at, "true: people who left; false: people still active."
    )


PERSON_LIST = ListSpec(
    Person,
    PersonFilter,
    Sorting(
        "Sort people.",
        **timestamps(person),
        NAME=Key(col(person.name).collate("C"), str),
    ),
    noun="the people list",
)


@strawberry.type
class PersonQuery:
    people = PERSON_LIST.connection_field(
        "Your organization's people, newest first unless `orderBy` says otherwise; those who "
        "left included unless `filter: {deactivated: false}`."
    )

    @strawberry.field(
        description=(
            "The person your key acts for; null for a service account's key, which acts for "
            "no person."
        )
    )
    async def acting_person(self, info: Info) -> Person | None:
        return await Person.load(info, info.context.principal.person_id)
