"""The mention reads: mentions, their authors, analyses and complaint details by id.

Authors and analyses are also what a mentions page reads for all its nodes at once
(`gateway.mentions.queries.mention_extras`).
"""

from sqlmodel import col

from gateway.core.reads import ById
from libs.database.tables import Author, Complaint, Mention, MentionAnalysis

MENTIONS = ById(Mention, col(Mention.id))
AUTHORS = ById(Author, col(Author.id))
ANALYSES = ById(MentionAnalysis, col(MentionAnalysis.mention_id))
# A complaint's contacts' ciphertext is never loaded: the gateway shows masked data only.
COMPLAINT_SEALED = (Complaint.contacts_cipher,)
COMPLAINTS = ById(Complaint, col(Complaint.id), omit=COMPLAINT_SEALED)
COMPLAINTS_BY_MENTION = ById(Complaint, col(Complaint.mention_id), omit=COMPLAINT_SEALED)
