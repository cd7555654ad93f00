"""Partners (第三方合作方管理): who the organization works with, and their standing."""
