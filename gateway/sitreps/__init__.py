"""Situation reports (态势报告) of open incidents: read them, edit and send them."""
