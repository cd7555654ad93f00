"""Partners and their standings by id, within the caller's organization."""

from sqlmodel import col

from gateway.core.reads import ById
from libs.database.tables import IncidentPartner, Partner

PARTNERS = ById(Partner, col(Partner.id))
STANDINGS = ById(IncidentPartner, col(IncidentPartner.id))
