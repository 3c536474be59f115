"""Routing's own settings, read from `ServiceSettings.extra` (the ADUAN_* variables), and the
policy (offices, rules, calendar) they select. An invalid value or data file stops start-up with
a `SettingsError` naming it, as every service's settings do.

- ADUAN_ROUTING_RULES_FILE     YAML rule file replacing the packaged defaults
- ADUAN_COLLECTIVE_LEAVE_FILE  YAML list of cuti bersama days replacing the packaged list
- ADUAN_PING_PONG_LIMIT        reassignments allowed before a case is flagged (default 4)
- ADUAN_SLA_TICKER             run the SLA ticker in this process (default true)
- ADUAN_SLA_TICK_SECONDS       interval of the SLA ticker (default 60)
- ADUAN_SLA_ACCEPT_WORKING_DAYS (3), ADUAN_SLA_FIRST_RESPONSE_WORKING_DAYS (5),
  ADUAN_SLA_RESOLUTION_CALENDAR_DAYS (60), ADUAN_SLA_AUTO_CLOSE_WORKING_DAYS (10)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aduan.core.settings import extra_flag, extra_int, extra_positive
from aduan.reference.offices import default_registry
from aduan_routing.policy import RoutingPolicy
from aduan_routing.rules import load_rules
from aduan_routing.workdays import (
    SlaCalendar,
    SlaPolicy,
    WorkingCalendar,
    load_collective_leave,
)


@dataclass(frozen=True)
class RoutingConfig:
    policy: RoutingPolicy
    ticker_enabled: bool
    tick_seconds: float

    @classmethod
    def from_extra(cls, extra: Mapping[str, str]) -> RoutingConfig:
        registry = default_registry()
        rules = load_rules(registry, extra.get("ROUTING_RULES_FILE") or None)
        calendar = WorkingCalendar(
            load_collective_leave(extra.get("COLLECTIVE_LEAVE_FILE") or None)
        )
        sla = SlaPolicy(
            accept_working_days=extra_int(extra, "SLA_ACCEPT_WORKING_DAYS", 3, 1),
            first_response_working_days=extra_int(extra, "SLA_FIRST_RESPONSE_WORKING_DAYS", 5, 1),
            resolution_calendar_days=extra_int(extra, "SLA_RESOLUTION_CALENDAR_DAYS", 60, 1),
            auto_close_working_days=extra_int(extra, "SLA_AUTO_CLOSE_WORKING_DAYS", 10, 1),
        )
        return cls(
            policy=RoutingPolicy(
                registry=registry,
                rules=rules,
                sla=SlaCalendar(calendar, sla),
                ping_pong_limit=extra_int(extra, "PING_PONG_LIMIT", 4, 1),
            ),
            ticker_enabled=bool(extra_flag(extra, "SLA_TICKER", True)),
            tick_seconds=extra_positive(extra, "SLA_TICK_SECONDS", 60.0),
        )
