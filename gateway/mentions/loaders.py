"""The mention reads: mentions, their authors and their analyses by id.

Authors and analyses are also what a mentions page reads for all its nodes at once
(`gateway.mentions.queries.mention_extras`).
"""

from sqlmodel import col

from gateway.core.reads import ById
from libs.database.tables import Author, Mention, MentionAnalysis

MENTIONS = ById(Mention, col(Mention.id))
AUTHORS = ById(Author, col(Author.id))
ANALYSES = ById(MentionAnalysis, col(MentionAnalysis.mention_id))
