"""The people reads: a person by id, within the caller's organization."""

from sqlmodel import col

from gateway.core.reads import ById
from libs.database.tables import Person

PEOPLE = ById(Person, col(Person.id))
