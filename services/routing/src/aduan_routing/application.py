"""The routing application (its aggregates arrive with the routing issue)."""

from __future__ import annotations

from aduan.store import AduanApplication


class RoutingApplication(AduanApplication):
    name = "routing"
