"""The code names and paths the README and docs/ mention exist: a module, class, function or
file renamed or moved without its documentation fails here, so the docs stay true as the code
moves."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Dotted names of our packages. `aduan.<word>` alone is also a NATS subject or a metric prefix
# (aduan.intake.ComplaintFiled, aduan.deadletter), so only the platform's wings and the
# generated contract count there.
NAME = re.compile(
    r"\b(?:aduan\.(?:core|reference|eventstore|contract|messaging|service)"
    r"|aduan_(?:devtools|intake|routing|notification|query))(?:\.[A-Za-z_]\w*)*"
)


def mentioned() -> list[tuple[str, str]]:
    found = set()
    for page in PAGES:
        for name in NAME.findall(page.read_text(encoding="utf-8")):
            found.add((page.relative_to(ROOT).as_posix(), name))
    return sorted(found)


def resolves(name: str) -> bool:
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


def test_the_docs_mention_code_names() -> None:
    assert len(mentioned()) > 20  # the pattern still finds what the docs name


@pytest.mark.parametrize(("page", "name"), mentioned())
def test_a_code_name_in_the_docs_exists(page: str, name: str) -> None:
    assert resolves(name), f"{page} names {name}, which does not exist"


PATH = re.compile(r"\b(?:libs|services|tests|charts|bench|docs|protos)/[A-Za-z0-9_./-]+")


def mentioned_paths() -> list[tuple[str, str]]:
    found = set()
    for page in PAGES:
        for path in PATH.findall(page.read_text(encoding="utf-8")):
            found.add((page.relative_to(ROOT).as_posix(), path.rstrip(".,:;")))
    return sorted(found)


@pytest.mark.parametrize(("page", "path"), mentioned_paths())
def test_a_path_in_the_docs_exists(page: str, path: str) -> None:
    assert (ROOT / path).exists(), f"{page} names {path}, which does not exist"
