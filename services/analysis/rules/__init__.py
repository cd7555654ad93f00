"""Boolean watch rules: `(奶粉 | 米粉) & (致癌 | 召回) & !谣言`, parsed, validated and matched.

Parse a query with `parse`; put every rule of an organization in one `CompiledRules`, give
its `terms()` to the organization's shared `TermIndex`, and pass each post's hits to
`CompiledRules.match`. See docs/watch-rules.md for the language.
"""

from services.analysis.rules.compiled import CompiledRules, RuleMatch
from services.analysis.rules.errors import RuleError
from services.analysis.rules.grammar import MAX_NESTING, MAX_TERM_LENGTH, MAX_TERMS, parse
from services.analysis.rules.keywords import keywords_query
from services.analysis.rules.syntax import Rule

__all__ = [
    "MAX_NESTING",
    "MAX_TERMS",
    "MAX_TERM_LENGTH",
    "CompiledRules",
    "Rule",
    "RuleError",
    "RuleMatch",
    "keywords_query",
    "parse",
]
