"""Rotas, their overrides and pages by id, within the caller's organization."""

from sqlmodel import col

from gateway.core.reads import ById
from libs.database.tables import Page, Rota, RotaOverride

ROTAS = ById(Rota, col(Rota.id))
OVERRIDES = ById(RotaOverride, col(RotaOverride.id))
PAGES = ById(Page, col(Page.id))
