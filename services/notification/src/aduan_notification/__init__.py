"""Aduan notification service."""
