"""Evidence bundles by id, and each bundle's items in the order they were kept."""

from sqlmodel import col

from gateway.core.reads import ById, Children
from libs.database.tables import EvidenceBundle, EvidenceItem

BUNDLES = ById(EvidenceBundle, col(EvidenceBundle.id))
ITEMS_BY_BUNDLE = Children(
    EvidenceItem, col(EvidenceItem.bundle_id), order_by=[col(EvidenceItem.position)]
)
