"""On call (值班): duty rotas per role, who is on duty now, and the pages sent to people."""
