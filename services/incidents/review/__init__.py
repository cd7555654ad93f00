"""The post-incident review (复盘): computed sections, people's findings, JSON and HTML export."""
