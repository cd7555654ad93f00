"""An incident's dossier as the files a recipient keeps: signed JSON and a readable page.

The JSON file holds the dossier, the SHA-256 of the dossier's canonical JSON, and the
Ed25519 signature of those same canonical bytes with the id of the key that made it: anyone
with the published public key can check both without trusting the channel it came by
(docs/archive.md shows how). The page shows the same dossier to people, with the digest and
signature printed, so the two can be shown to be the same record.
"""

import json
from dataclasses import dataclass
from datetime import datetime

from gateway.archive.dossier import Dossier
from libs.documents.canonical import BEIJING, canonical_json, iso_utc, sha256_hex, web_link
from libs.documents.review import ReviewDocument, render_page, review_context
from libs.documents.signing import ALGORITHM, Signer

JSON_TYPE = "application/json"
HTML_TYPE = "text/html; charset=utf-8"


@dataclass(frozen=True)
class Archive:
    """One dossier signed: its digest, signature and files (the page drawn on demand)."""

    dossier: Dossier
    sha256: str
    signature: str
    key_id: str
    generated_at: datetime
    json: str

    @property
    def as_of(self) -> datetime:
        """The latest change the dossier holds."""
        return self.dossier.as_of

    @property
    def has_review(self) -> bool:
        """Whether the incident has a review report."""
        return self.dossier.review is not None

    @property
    def file_stem(self) -> str:
        """The files' stable name without extension."""
        return file_stem(self.dossier.incident.id, "archive", self.dossier.as_of)

    def html(self) -> str:
        """Return the readable page: the dossier with the digest and signature printed."""
        review = self.dossier.review
        return render_page(
            "archive.html.j2",
            **(review_context(review) if review else {}),
            dossier=self.dossier.body,
            generated_at=iso_utc(self.generated_at),
            sha256=self.sha256,
            signature=self.signature,
            key_id=self.key_id,
            algorithm=ALGORITHM,
            web_link=web_link,
        )


def short_id(incident_id: object) -> str:
    """Return the last eight characters of an incident's id, as file names carry it: ids
    begin with their creation time (`libs.ids`), so incidents opened within a minute of
    each other share their first eight, and only the random end tells them apart."""
    return str(incident_id)[-8:]


def file_stem(incident_id: object, kind: str, as_of: datetime) -> str:
    """Return a stable file name without extension: one incident, one kind, one day of
    content (Beijing date) give one name, however often it is downloaded."""
    day = as_of.astimezone(BEIJING).strftime("%Y-%m-%d")
    return f"incident-{short_id(incident_id)}-{kind}-{day}"


def make_archive(dossier: Dossier, signer: Signer, now: datetime) -> Archive:
    """Sign `dossier` and write its JSON file, generated `now`."""
    canonical = canonical_json(dossier.body)
    digest = sha256_hex(canonical)
    signature = signer.sign(canonical.encode())
    envelope = {
        "format": dossier.body["format"],
        "dossier": dossier.body,
        "sha256": digest,
        "signature": {
            "algorithm": ALGORITHM,
            "key_id": signer.key_id,
            "public_key": signer.public_key,
            "value": signature,
        },
        "generated_at": iso_utc(now),
    }
    text = json.dumps(envelope, ensure_ascii=False, sort_keys=True, indent=2) + "\n"
    return Archive(dossier, digest, signature, signer.key_id, now, text)


def review_file_stem(review: ReviewDocument) -> str:
    """Return the review report's stable file name without extension."""
    return file_stem(review.incident.id, "review", review.report.updated_at)
