"""The redacted copy of a citizen's or an officer's free text: NIKs, phone numbers, e-mail
addresses and account numbers masked by rules kept as data (`aduan/data/redaction.yaml`,
docs/security.md "Free text: sealed, and a redacted copy").

Read models, exports, NATS messages and logs carry the redacted copy; the words as written stay
sealed under the reporter's key in the write service that took them.

Numbers are found as people type them: a run of digit groups joined by single spaces, dots,
dashes or brackets ("0813-9988-7766", "3273 0199 1287 0001", "+62 (21) 555 1234"). Within a
run, the longest stretch of whole groups that a rule matches is masked, so a NIK followed by
an unrelated number ("NIK 3273019912870001 2 orang") is still found.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

# Digit groups joined by one separator (space, dot, dash, slash-free brackets).
_NUMBER_RUN = re.compile(r"(?<![\w@])\+?\(?\d+(?:(?:[ .\-]|\) ?|[ ]?\()\d+)*\)?(?![\w@])")
_GROUP = re.compile(r"\d+")
_CUE_WINDOW = 40
_TOP_KEYS = frozenset({"version", "not_after", "not_shapes", "rules"})
_RULE_KEYS = frozenset({"id", "label", "pattern", "digits", "cue", "keep_last"})


class RedactionRulesError(ValueError):
    """The redaction rules' data are malformed."""


@dataclass(frozen=True)
class RedactionRule:
    rule_id: str
    label: str
    pattern: re.Pattern[str] | None = None
    digits: re.Pattern[str] | None = None
    cue: re.Pattern[str] | None = None
    keep_last: int = 0

    def mask(self, value: str) -> str:
        if self.keep_last:
            kept = "".join(ch for ch in value if ch.isdigit())[-self.keep_last :]
            return f"[{self.label} …{kept}]"
        return f"[{self.label}]"

    def matches_number(self, digits: str, before: str) -> bool:
        if self.digits is None or not self.digits.fullmatch(digits):
            return False
        return self.cue is None or self.cue.search(before) is not None


@dataclass(frozen=True)
class Redacted:
    """A redacted text and the ids of the rules that masked something in it, in text order."""

    text: str
    rule_ids: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.rule_ids)


class Redactor:
    def __init__(
        self,
        rules: Sequence[RedactionRule],
        version: str,
        not_after: re.Pattern[str] | None = None,
        not_shapes: Sequence[re.Pattern[str]] = (),
    ) -> None:
        self.rules = tuple(rules)
        self.version = version
        self.not_after = not_after
        self.not_shapes = tuple(not_shapes)
        self._number_rules = tuple(rule for rule in self.rules if rule.digits is not None)

    def redact(self, text: str) -> Redacted:
        spans: list[tuple[int, int, RedactionRule]] = []
        for rule in self.rules:
            if rule.pattern is not None:
                spans.extend((m.start(), m.end(), rule) for m in rule.pattern.finditer(text))
        taken = sorted(spans, key=lambda span: span[0])
        for run in _NUMBER_RUN.finditer(text):
            if any(start < run.end() and run.start() < end for start, end, _ in taken):
                continue
            if self._never_personal(text, run):
                continue
            spans.extend(self._numbers_in(text, run.start(), run.group()))
        if not spans:
            return Redacted(text)
        spans.sort(key=lambda span: span[0])
        out: list[str] = []
        ids: list[str] = []
        cursor = 0
        for start, end, rule in spans:
            if start < cursor:
                continue
            out.append(text[cursor:start])
            out.append(rule.mask(text[start:end]))
            ids.append(rule.rule_id)
            cursor = end
        out.append(text[cursor:])
        return Redacted("".join(out), tuple(ids))

    def _never_personal(self, text: str, run: re.Match[str]) -> bool:
        if any(shape.fullmatch(run.group()) for shape in self.not_shapes):
            return True
        before = text[max(0, run.start() - _CUE_WINDOW) : run.start()]
        return self.not_after is not None and self.not_after.search(before) is not None

    def _numbers_in(self, text: str, offset: int, run: str) -> list[tuple[int, int, RedactionRule]]:
        groups = [(offset + m.start(), offset + m.end(), m.group()) for m in _GROUP.finditer(run)]
        found: list[tuple[int, int, RedactionRule]] = []
        i = 0
        while i < len(groups):
            match = self._longest_from(text, groups, i)
            if match is None:
                i += 1
                continue
            j, rule = match
            start = groups[i][0]
            # A leading "+" or "(" belongs to the number it starts.
            while start > offset and text[start - 1] in "+(":
                start -= 1
            end = groups[j - 1][1]
            if end < len(text) and text[end] == ")" and "(" in text[start:end]:
                end += 1
            found.append((start, end, rule))
            i = j
        return found

    def _longest_from(
        self, text: str, groups: Sequence[tuple[int, int, str]], i: int
    ) -> tuple[int, RedactionRule] | None:
        before = text[max(0, groups[i][0] - _CUE_WINDOW) : groups[i][0]]
        for j in range(len(groups), i, -1):
            digits = "".join(group for _, _, group in groups[i:j])
            for rule in self._number_rules:
                if rule.matches_number(digits, before):
                    return j, rule
        return None


def _compiled(value: object, where: str) -> re.Pattern[str] | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise RedactionRulesError(f"{where}: expected a regular expression")
    try:
        return re.compile(value, re.IGNORECASE)
    except re.error as error:
        raise RedactionRulesError(f"{where}: {error}") from None


def _rule(raw: object, index: int) -> RedactionRule:
    where = f"rules[{index}]"
    if not isinstance(raw, Mapping):
        raise RedactionRulesError(f"{where}: expected a mapping")
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise RedactionRulesError(f"{where}: unknown keys {sorted(unknown)}")
    rule_id, label = raw.get("id"), raw.get("label")
    if not isinstance(rule_id, str) or not rule_id or not isinstance(label, str) or not label:
        raise RedactionRulesError(f"{where}: id and label are required")
    pattern = _compiled(raw.get("pattern"), f"{where}.pattern")
    digits = _compiled(raw.get("digits"), f"{where}.digits")
    if (pattern is None) == (digits is None):
        raise RedactionRulesError(f"{where}: give exactly one of pattern and digits")
    cue = _compiled(raw.get("cue"), f"{where}.cue")
    if cue is not None and digits is None:
        raise RedactionRulesError(f"{where}: a cue applies to digits rules only")
    keep_last = raw.get("keep_last", 0)
    if not isinstance(keep_last, int) or not 0 <= keep_last <= 4:
        raise RedactionRulesError(f"{where}.keep_last: an integer from 0 to 4")
    return RedactionRule(rule_id, label, pattern, digits, cue, keep_last)


def build_redactor(data: object) -> Redactor:
    if not isinstance(data, Mapping) or not isinstance(data.get("rules"), list):
        raise RedactionRulesError("expected a mapping with a list of rules")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise RedactionRulesError(f"unknown keys {sorted(unknown)}")
    rules = [_rule(raw, index) for index, raw in enumerate(data["rules"])]
    ids = [rule.rule_id for rule in rules]
    if len(set(ids)) != len(ids):
        raise RedactionRulesError("rule ids must be unique")
    shapes = data.get("not_shapes") or []
    if not isinstance(shapes, list):
        raise RedactionRulesError("not_shapes: expected a list of regular expressions")
    return Redactor(
        rules,
        str(data.get("version", "")),
        _compiled(data.get("not_after"), "not_after"),
        [
            shape
            for index, raw in enumerate(shapes)
            if (shape := _compiled(raw, f"not_shapes[{index}]")) is not None
        ],
    )


@cache
def default_redactor() -> Redactor:
    text = resources.files("aduan").joinpath("data", "redaction.yaml").read_text(encoding="utf-8")
    return build_redactor(yaml.safe_load(text))


def redact(text: str) -> Redacted:
    """`text` with the packaged rules applied."""
    return default_redactor().redact(text)
