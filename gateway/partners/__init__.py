"""Partners (第三方合作方管理) and where each stands in an incident."""
