"""Build a dataclass from the same-named attributes of another object.

Several records are another record seen from a different side: a story member as an
amplifier, a stored idempotency row as the answer to a claim, a tier decision as a
replayed signal. Spelling out `field=source.field` for each field says nothing the field
names do not, and a field added to both sides is then copied without a further edit.
This is `Model.model_validate(source, from_attributes=True)` for plain dataclasses, with
the fields the source lacks (or names differently) given as keywords.
"""

import dataclasses
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Record = TypeVar("Record", bound="DataclassInstance")


def copy_into(target: type[Record], source: object, **given: Any) -> Record:
    """Return a `target` whose fields are `given`, or else `source`'s same-named attributes.

    A field that `source` lacks and that is not given raises `AttributeError`, so a
    mismatch between the two shapes fails loudly rather than taking a default.
    """
    values = {
        field.name: given[field.name] if field.name in given else getattr(source, field.name)
        for field in dataclasses.fields(target)
        if field.init
    }
    unknown = given.keys() - values.keys()
    if unknown:
        raise TypeError(f"{target.__name__} has no fields {sorted(unknown)}")
    return target(**values)
