"""On call (安排专人24小时值班): duty rotas per role, who is on duty now, and pages."""
