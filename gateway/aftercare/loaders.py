"""The aftercare reads: users and follow-ups by id, each user's follow-ups, and the columns
never read."""

from sqlmodel import col

from gateway.core.reads import ById, Children, never_load
from libs.database.tables import AffectedUser, FollowUpTask

# The contact's ciphertext is never loaded: the gateway shows masked data only.
SEALED_CONTACT = (AffectedUser.contact_cipher,)
NO_CONTACT = tuple(never_load(column) for column in SEALED_CONTACT)
AFFECTED_USERS = ById(AffectedUser, col(AffectedUser.id), omit=SEALED_CONTACT)
FOLLOW_UPS = ById(FollowUpTask, col(FollowUpTask.id))
FOLLOW_UPS_BY_USER = Children(
    FollowUpTask,
    col(FollowUpTask.affected_user_id),
    order_by=(col(FollowUpTask.due_at).nulls_last(), col(FollowUpTask.id)),
)
