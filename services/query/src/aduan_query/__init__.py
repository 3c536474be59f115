"""Aduan query service."""
