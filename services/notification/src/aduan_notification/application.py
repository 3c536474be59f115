"""The notification application (its aggregates arrive with the notification issue)."""

from __future__ import annotations

from aduan.store import AduanApplication


class NotificationApplication(AduanApplication):
    name = "notification"
