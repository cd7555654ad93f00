"""Statement drafts from templates (自动化声明生成器), and the organization's own templates."""
