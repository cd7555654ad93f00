"""The form a rule term is stored and matched in: the analysis form of post text.

Posts are compared after NFKC (ingest), traditional-to-simplified conversion and case
folding, with runs of whitespace collapsed. A term written as "蘋果手錶", "ＡＰＰＬＥ" or
"Apple   Watch" must land on the same string as the text it should find, so terms go
through the same steps once, when the rule is parsed, and never at match time.
"""

import re
import unicodedata

from libs.text import to_simplified
from services.analysis.terms import fold

_WHITESPACE = re.compile(r"\s+")


def analysis_form(term: str) -> str:
    """Return `term` as it is compared against the analysis form of a post."""
    spaced = _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", term))
    return fold(to_simplified(spaced))
