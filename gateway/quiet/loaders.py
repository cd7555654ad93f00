"""Own accounts and quiet periods by id, within the caller's organization."""

from sqlmodel import col

from gateway.core.reads import ById
from libs.database.tables import OwnAccount, QuietPeriod

OWN_ACCOUNTS = ById(OwnAccount, col(OwnAccount.id))
QUIET_PERIODS = ById(QuietPeriod, col(QuietPeriod.id))
