"""The watchlist reads other types load through (`Watchlist.load`)."""

from sqlmodel import col

from gateway.core.reads import ById
from libs.database.tables import Watchlist

WATCHLISTS = ById(Watchlist, col(Watchlist.id))
