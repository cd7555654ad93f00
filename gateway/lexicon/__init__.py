"""The sensitive-term lexicon (敏感词库): an organization's changes to the default terms.

Reads `sensitive_term`. Sends SetSensitiveTerms to the analysis service.
"""
