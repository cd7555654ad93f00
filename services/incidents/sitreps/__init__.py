"""Situation reports (态势报告) every few hours of an open incident, and public progress updates."""
