"""Print a new archive signing key: `python -m gateway.archive.keygen`.

Set it as ARCHIVE_SIGNING_KEY on every gateway process; keep the old key's public half
(GET /v1/archive/signing-key before the change) to check archives it signed.
"""

from libs.documents.signing import new_key

if __name__ == "__main__":
    print(new_key())
