"""Routing's own settings, read from `ServiceSettings.extra` (the ADUAN_* variables), and the
policy (offices, rules, calendar) they select. Invalid values stop start-up with a clear message.

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

from aduan_routing.application import RoutingPolicy
from aduan_routing.offices import OfficeRegistryError, default_registry
from aduan_routing.rules import RuleSetError, load_rules
from aduan_routing.workdays import (
    CalendarError,
    SlaCalendar,
    SlaPolicy,
    WorkingCalendar,
    load_collective_leave,
)


class RoutingConfigError(ValueError):
    """A routing setting is invalid; the service refuses to start."""


STARTUP_ERRORS = (RoutingConfigError, RuleSetError, CalendarError, OfficeRegistryError)


def _int(extra: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = extra.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise RoutingConfigError(f"ADUAN_{name} must be an integer, not {raw!r}") from None
    if value < minimum:
        raise RoutingConfigError(f"ADUAN_{name} must be at least {minimum}, not {value}")
    return value


def _bool(extra: Mapping[str, str], name: str, default: bool) -> bool:
    raw = extra.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise RoutingConfigError(f"ADUAN_{name} must be true or false, not {raw!r}")


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
            accept_working_days=_int(extra, "SLA_ACCEPT_WORKING_DAYS", 3),
            first_response_working_days=_int(extra, "SLA_FIRST_RESPONSE_WORKING_DAYS", 5),
            resolution_calendar_days=_int(extra, "SLA_RESOLUTION_CALENDAR_DAYS", 60),
            auto_close_working_days=_int(extra, "SLA_AUTO_CLOSE_WORKING_DAYS", 10),
        )
        raw_tick = extra.get("SLA_TICK_SECONDS", "").strip() or "60"
        try:
            tick_seconds = float(raw_tick)
        except ValueError:
            raise RoutingConfigError(
                f"ADUAN_SLA_TICK_SECONDS must be a number, not {raw_tick!r}"
            ) from None
        if tick_seconds <= 0:
            raise RoutingConfigError("ADUAN_SLA_TICK_SECONDS must be positive")
        return cls(
            policy=RoutingPolicy(
                registry=registry,
                rules=rules,
                sla=SlaCalendar(calendar, sla),
                ping_pong_limit=_int(extra, "PING_PONG_LIMIT", 4),
            ),
            ticker_enabled=_bool(extra, "SLA_TICKER", True),
            tick_seconds=tick_seconds,
        )
