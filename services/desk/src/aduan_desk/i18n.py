"""The desk's words: one catalogue per language (`messages/<language>.json`), Indonesian by
default, English selectable. Templates look every word up here, so a language is one file."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType

from aduan_desk.settings import LANGUAGES


@dataclass(frozen=True)
class Catalogue:
    language: str
    words: Mapping[str, str]

    def __call__(self, key: str) -> str:
        """The word for `key`; a key missing from the catalogue is a bug (the catalogues are
        checked against each other and the templates by the tests), so it shows as itself."""
        return self.words.get(key, key)

    def label(self, prefix: str, value: str) -> str:
        """An enum value's label (`status.ASSIGNED`), or the value itself when it has none."""
        return self.words.get(f"{prefix}.{value}", value)


@cache
def catalogue(language: str) -> Catalogue:
    if language not in LANGUAGES:
        language = LANGUAGES[0]
    text = resources.files("aduan_desk").joinpath("messages", f"{language}.json").read_text("utf-8")
    return Catalogue(language, MappingProxyType(json.loads(text)))
