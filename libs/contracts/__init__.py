"""Queue message types and shared vocabularies: pure pydantic, no I/O."""
