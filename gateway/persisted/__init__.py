"""Persisted documents: Apollo's automatic persisted queries, and trusted documents.

A client sends the SHA-256 of a document instead of its text (`extensions.persistedQuery`);
the gateway answers with the document's result if it knows it, else asks for the text once
(`PERSISTED_QUERY_NOT_FOUND`) and keeps it in Redis. In trusted-documents mode
(`TRUSTED_DOCUMENTS_ONLY`) only documents registered from a manifest at start run, so a
production gateway executes what its consoles shipped and nothing a stolen key composes.
The error codes are Apollo's, because its clients and tools key on them.
"""
