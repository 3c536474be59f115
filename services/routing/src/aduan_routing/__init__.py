"""Aduan routing service."""
