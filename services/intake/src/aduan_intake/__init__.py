"""Aduan intake service."""
