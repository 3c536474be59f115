"""Routing's own data files in `aduan_routing/data/`: the default routing rules and the collective
leave calendar. The office registry's data ships with the platform (`aduan.reference.offices`)."""

from __future__ import annotations

from importlib import resources


def packaged_text(name: str) -> str:
    return resources.files("aduan_routing").joinpath("data", name).read_text(encoding="utf-8")
