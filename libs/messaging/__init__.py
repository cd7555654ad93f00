"""The only package that imports arq: publishing, the outbox, receipts and worker settings."""
