"""API keys: minting, hashing and resolving a bearer key to its organization and role."""
