"""Where and what a citizen's free-text WhatsApp message is about, from the text alone.

`TextRules.locate(text)` finds the regency/city (kabupaten/kota) or the province the text names;
`TextRules.classify(text)` finds the complaint category. Both keep the rule that fired and the
words that matched, as provenance. The rules are data (`data/text-rules.yaml`, see
docs/locating.md); the 38 provinces and 514 regencies/cities come from the official registry
(`aduan.reference.areas`, Kemendagri codes), the YAML adds only informal names, the denylist and the cues.

Both work on a normalised copy of the text (lower case; every character that is not a letter, a
digit or "?" becomes a space; runs of spaces become one) and map what matched back to the text as
written.

Places (`locate`), in one left-to-right pass over the tokens, longest name first:
- a name is a regency's name without "Kabupaten"/"Kota" ("bandung"), its spelling without
  spaces ("gunungkidul"), a province's name, or an alias from the YAML ("jaksel", "tasik");
- "kab"/"kabupaten" or "kota"/"kt" right before a name (or "kota" right after it) chooses between
  a regency and the city of the same name; a bare name that both have is ambiguous; a bare name
  that is also a province's ("gorontalo", "jambi", "bengkulu") names the province;
- a name on the denylist (an everyday word: "batu", "pati", "malang", ...) counts only after a cue
  (a type word, an office word such as "kantah"/"bpn", a location word such as "di"/"daerah", or
  at the start of the message followed by punctuation);
- a blocked phrase ("batu bata", "nasib malang") is never a place, and a name right after a word
  such as "desa" or "jl" is a village or a street, not the regency;
- each mention scores by its context: the land's location ("tanah saya di ...") 3, an office
  ("kantah ...", "bpn ...") 2, "di ..." or the start of the message 1, nothing 0, where someone
  lives or works ("tinggal di ...", "warga ...") -2; plus 2 for a type word. The best-scoring
  regency mentions win (several different ones: ambiguous among them); a lower mention that
  settles an ambiguous winner settles it; a province mention narrows candidates spread over
  provinces; a province mention alone (or scoring higher than every regency mention outside it)
  gives the province.

Categories (`classify`): every rule is a set of phrases and regular expressions with a
precedence; of the rules that match, the highest precedence wins, then the earliest match.

Domain code: no transport imports.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from aduan.reference.areas import AreaRegistry, area_registry
from aduan.reference.categories import Category

PACKAGED_NAME = "aduan_intake/data/text-rules.yaml"

_TOP_KEYS = frozenset({"version", "rules", "places"})
_RULE_KEYS = frozenset({"id", "category", "precedence", "phrases", "patterns", "note"})
_PLACE_KEYS = frozenset(
    {"aliases", "denylist", "needs_type", "blocked_phrases", "not_place_before", "cues"}
)
_CUE_KEYS = frozenset({"kabupaten", "kota", "province", "office", "location", "land", "residence"})
_CATEGORIES = frozenset(c.value for c in Category if c is not Category.UNCLASSIFIED)

# Context scores of a place mention (see the module docstring).
SCORE_LAND = 3
SCORE_OFFICE = 2
SCORE_LOCATION = 1
SCORE_BARE = 0
SCORE_RESIDENCE = -2
SCORE_TYPE = 2
LAND_WINDOW = 4  # how many tokens before "di" may hold the land word ("tanah saya yang di")
RESIDENCE_WINDOW = 3  # how many tokens before "di" may hold the residence word ("tinggal di")
_LEADING_END = frozenset(",:.;!?-/()")


@dataclass(frozen=True)
class PlaceMatch:
    province_code: str
    regency_code: str  # "" when only the province is known
    rule_id: str  # e.g. "regency:32.73", "alias:jaksel", "province:32"
    evidence: str  # the matched span of the text, as written


@dataclass(frozen=True)
class PlaceAmbiguity:
    candidates: tuple[str, ...]  # regency codes, e.g. ("32.04", "32.73") for a bare "Bandung"
    province_code: str  # set when all candidates share one province, else ""
    evidence: str


@dataclass(frozen=True)
class CategoryMatch:
    category: str  # a Category value
    rule_id: str
    evidence: str


class TextRulesError(ValueError):
    """The rules file cannot be used; the message names the file and the problem."""


# --- normalisation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Normalised:
    text: str  # the normalised text
    origin: tuple[int, ...]  # for each character of `text`, its index in the original

    def original(self, original: str, start: int, end: int) -> str:
        """The original text behind `text[start:end]`."""
        if start >= end:
            return ""
        return original[self.origin[start] : self.origin[end - 1] + 1]


def _normalise(text: str) -> _Normalised:
    out: list[str] = []
    origin: list[int] = []
    space = True  # suppress leading spaces and runs
    for index, char in enumerate(text):
        for lowered in char.lower():
            if lowered.isalnum():
                out.append(lowered)
                origin.append(index)
                space = False
            elif lowered == "?":
                if not space:
                    out.append(" ")
                    origin.append(index)
                out.append("?")
                origin.append(index)
                out.append(" ")
                origin.append(index)
                space = True
            elif not space:
                out.append(" ")
                origin.append(index)
                space = True
    while out and out[-1] == " ":
        out.pop()
        origin.pop()
    return _Normalised("".join(out), tuple(origin))


def normalise(text: str) -> str:
    """The normalised form rules and names are matched against."""
    return _normalise(text).text


def _phrase_tokens(phrase: str) -> tuple[str, ...]:
    return tuple(normalise(phrase).split())


# --- places -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Name:
    """What a token sequence can name."""

    rule_id: str
    province_code: str = ""  # set: the name is (also) a province's
    kabupaten: tuple[str, ...] = ()  # regency codes of that name
    kota: tuple[str, ...] = ()  # city codes of that name
    denied: bool = False  # an everyday word: counts only after a cue
    strict: bool = False  # counts only after a type or office word ("kab", "kantah")
    blocked: bool = False  # never a place (e.g. "batu bata")

    @property
    def regencies(self) -> tuple[str, ...]:
        return self.kabupaten + self.kota


@dataclass(frozen=True)
class _Mention:
    codes: frozenset[str]  # regency codes, or one province code when `province` is True
    province: bool
    score: int
    rule_id: str
    evidence: str


@dataclass
class _NameBuilder:
    rule_id: str
    province_code: str = ""
    kabupaten: list[str] = field(default_factory=list)
    kota: list[str] = field(default_factory=list)

    def build(self, denied: bool, strict: bool) -> _Name:
        return _Name(
            self.rule_id,
            self.province_code,
            tuple(sorted(set(self.kabupaten))),
            tuple(sorted(set(self.kota))),
            denied or strict,
            strict,
        )


def _bare_name(official: str) -> tuple[str, bool]:
    """("Bandung", True) for "Kota Bandung"; the prefix says kabupaten or kota."""
    for prefix, is_kota in (
        ("Kabupaten Administrasi ", False),
        ("Kota Administrasi ", True),
        ("Kabupaten ", False),
        ("Kota Adm. ", True),
        ("Kota ", True),
    ):
        if official.startswith(prefix):
            return official[len(prefix) :], is_kota
    return official, False


@dataclass(frozen=True)
class _Cues:
    kabupaten: frozenset[tuple[str, ...]]
    kota: frozenset[tuple[str, ...]]
    province: frozenset[tuple[str, ...]]
    office: frozenset[tuple[str, ...]]
    location: frozenset[str]
    land: frozenset[str]
    residence: frozenset[str]


class _Places:
    def __init__(
        self,
        registry: AreaRegistry,
        aliases: Mapping[str, Sequence[str]],
        denylist: Iterable[str],
        needs_type: Iterable[str],
        blocked: Iterable[str],
        not_place_before: Iterable[str],
        cues: _Cues,
        problem: _Problem,
    ) -> None:
        self.registry = registry
        self.cues = cues
        self.not_place_before = frozenset(_phrase_tokens(w) for w in not_place_before)
        self.not_place_longest = max((len(t) for t in self.not_place_before), default=0)
        builders: dict[tuple[str, ...], _NameBuilder] = {}

        def builder(tokens: tuple[str, ...], rule_id: str) -> _NameBuilder:
            found = builders.get(tokens)
            if found is None:
                found = builders[tokens] = _NameBuilder(rule_id)
            return found

        for province in registry.provinces.values():
            tokens = _phrase_tokens(province.name)
            builder(tokens, f"province:{province.code}").province_code = province.code
        for regency in registry.regencies.values():
            bare, is_kota = _bare_name(regency.name)
            tokens = _phrase_tokens(bare)
            variants = {tokens}
            if len(tokens) > 1:
                variants.add(("".join(tokens),))
            for variant in variants:
                entry = builder(variant, f"regency:{regency.code}")
                (entry.kota if is_kota else entry.kabupaten).append(regency.code)
        for alias, codes in aliases.items():
            tokens = _phrase_tokens(alias)
            if not tokens:
                problem(f"alias {alias!r} is empty")
            entry = builder(tokens, f"alias:{' '.join(tokens)}")
            for code in codes:
                if code in registry.provinces:
                    entry.province_code = code
                elif code in registry.regencies:
                    _, is_kota = _bare_name(registry.regencies[code].name)
                    (entry.kota if is_kota else entry.kabupaten).append(code)
                else:
                    problem(f"alias {alias!r} names an unknown area code {code!r}")
        denied: set[tuple[str, ...]] = set()
        strict: set[tuple[str, ...]] = set()
        for into, words, key in (
            (denied, denylist, "denylist"),
            (strict, needs_type, "needs_type"),
        ):
            for word in words:
                tokens = _phrase_tokens(word)
                if tokens not in builders:
                    problem(f"{key} entry {word!r} is not the name or alias of any area")
                into.add(tokens)
        self.names: dict[tuple[str, ...], _Name] = {
            tokens: b.build(tokens in denied, tokens in strict) for tokens, b in builders.items()
        }
        for phrase in blocked:
            tokens = _phrase_tokens(phrase)
            if not tokens:
                problem(f"blocked phrase {phrase!r} is empty")
            self.names[tokens] = _Name(f"blocked:{' '.join(tokens)}", blocked=True)
        self.longest = max(len(tokens) for tokens in self.names)
        self.type_longest = max(
            (len(t) for t in (*cues.kabupaten, *cues.kota, *cues.province, *cues.office)),
            default=1,
        )

    # -- scanning

    def _not_place(self, tokens: Sequence[str], start: int) -> bool:
        """Whether the words before `start` make the name a village, street, river or firm."""
        for length in range(min(self.not_place_longest, start), 0, -1):
            if tuple(tokens[start - length : start]) in self.not_place_before:
                return True
        return False

    def _type_before(self, tokens: Sequence[str], start: int) -> tuple[str, int]:
        """("kab" | "kota" | "prov" | "", first index of the type words) for the words before
        `start`."""
        for kind, words in (
            ("kab", self.cues.kabupaten),
            ("kota", self.cues.kota),
            ("prov", self.cues.province),
        ):
            for length in range(min(self.type_longest, start), 0, -1):
                if tuple(tokens[start - length : start]) in words:
                    return kind, start - length
        return "", start

    def _context(self, tokens: Sequence[str], start: int) -> tuple[int, bool]:
        """The context score of a mention whose words (type words included) begin at `start`,
        and whether a cue precedes it."""
        if start == 0:
            return SCORE_BARE, False
        for length in range(min(self.type_longest, start), 0, -1):
            if tuple(tokens[start - length : start]) in self.cues.office:
                return SCORE_OFFICE, True
        previous = tokens[start - 1]
        if previous in self.cues.location:
            before = tokens[max(0, start - 1 - LAND_WINDOW) : start - 1]
            near = tokens[max(0, start - 1 - RESIDENCE_WINDOW) : start - 1]
            if any(word in self.cues.residence for word in near):
                return SCORE_RESIDENCE, True
            if any(word in self.cues.land for word in before):
                return SCORE_LAND, True
            return SCORE_LOCATION, True
        if previous in self.cues.residence:
            return SCORE_RESIDENCE, False
        return SCORE_BARE, False

    def mentions(self, text: str) -> list[_Mention]:
        norm = _normalise(text)
        spans = [(m.start(), m.end()) for m in re.finditer(r"\S+", norm.text)]
        tokens = [norm.text[s:e] for s, e in spans]
        found: list[_Mention] = []
        index = 0
        count = len(tokens)
        while index < count:
            name: _Name | None = None
            length = 0
            for size in range(min(self.longest, count - index), 0, -1):
                name = self.names.get(tuple(tokens[index : index + size]))
                if name is not None:
                    length = size
                    break
            if name is None:
                index += 1
                continue
            end = index + length
            if name.blocked or self._not_place(tokens, index):
                index = end
                continue
            if (
                length == 1
                and name.denied
                and end < count
                and tokens[end] == tokens[index]  # "buru buru": reduplication, a word
            ):
                index = end + 1
                continue
            kind, first = self._type_before(tokens, index)
            if not kind and end < count and (tokens[end],) in self.cues.kota:
                kind = "kota-after"
                end += 1
            score, cue = self._context(tokens, first)
            strong = score == SCORE_OFFICE
            if first == 0 and not cue and self._leading(text, norm, spans[end - 1][1]):
                score, cue = SCORE_LOCATION, True
            typed = bool(kind)
            if typed:
                score += SCORE_TYPE
                cue = True
            if (name.denied and not cue) or (name.strict and not (typed or strong)):
                index = end
                continue
            meaning = self._meaning(name, kind)
            if meaning is not None:
                codes, is_province, rule_id = meaning
                evidence = norm.original(text, spans[first][0], spans[end - 1][1])
                found.append(_Mention(codes, is_province, score, rule_id, evidence))
            index = end
        return found

    @staticmethod
    def _leading(text: str, norm: _Normalised, end: int) -> bool:
        """Whether the first words of the message (ending at normalised offset `end`) stand
        alone: followed by punctuation or nothing."""
        after = norm.origin[end - 1] + 1
        rest = text[after:].lstrip()
        return not rest or rest[0] in _LEADING_END

    @staticmethod
    def _meaning(name: _Name, kind: str) -> tuple[frozenset[str], bool, str] | None:
        """(codes, a province?, rule id) of a name preceded (or followed) by type words of
        `kind` ("kab", "kota", "kota-after", "prov" or "")."""
        regencies: tuple[str, ...]
        if kind == "kab":
            regencies = name.kabupaten
        elif kind in ("kota", "kota-after"):
            regencies = name.kota
        elif kind == "prov":
            regencies = ()
        else:
            regencies = () if name.province_code else name.regencies
        if not regencies and kind in ("kab", "kota", "kota-after") and not name.province_code:
            # "kota jember": the town of a regency that has no city of that name
            regencies = name.regencies
        if regencies:
            rule_id = name.rule_id
            if rule_id.startswith(("regency:", "province:")) and len(regencies) == 1:
                rule_id = f"regency:{regencies[0]}"
            elif rule_id.startswith(("regency:", "province:")):
                rule_id = "regency:" + "|".join(regencies)
            return frozenset(regencies), False, rule_id
        if name.province_code:
            rule_id = name.rule_id
            if not rule_id.startswith("alias:"):
                rule_id = f"province:{name.province_code}"
            return frozenset({name.province_code}), True, rule_id
        return None

    # -- deciding

    def province_of(self, code: str) -> str:
        return self.registry.regencies[code].province_code

    def locate(self, text: str) -> PlaceMatch | PlaceAmbiguity | None:
        mentions = self.mentions(text)
        if not mentions:
            return None
        regency = [m for m in mentions if not m.province]
        province = [m for m in mentions if m.province]
        best_province = max((m.score for m in province), default=None)
        if regency:
            top_score = max(m.score for m in regency)
            top = [m for m in regency if m.score == top_score]
            codes = _agree(top)
            if len(codes) > 1:
                # A lower mention that settles the winner's ambiguity ("... kota bandung").
                for lower in sorted(regency, key=lambda m: -m.score):
                    if lower.score == top_score:
                        continue
                    narrowed = codes & lower.codes
                    if narrowed and narrowed != codes:
                        codes = narrowed
                        if len(codes) == 1:
                            break
            provinces = {self.province_of(c) for c in codes}
            named = {next(iter(m.codes)) for m in province}
            if len(provinces) > 1 and named & provinces:
                codes = frozenset(c for c in codes if self.province_of(c) in named)
                provinces = {self.province_of(c) for c in codes}
            if best_province is not None and best_province > top_score:
                outside = [m for m in province if next(iter(m.codes)) not in provinces]
                if outside and max(m.score for m in outside) == best_province:
                    return self._province(province, best_province)
            evidence = [m for m in top if m.codes & codes] or top
            if len(codes) == 1:
                code = next(iter(codes))
                chosen = next(
                    (m for m in evidence if m.codes == codes),
                    next((m for m in regency if m.codes == codes), evidence[0]),
                )
                rule_id = chosen.rule_id
                if not rule_id.startswith("alias:"):
                    rule_id = f"regency:{code}"
                return PlaceMatch(self.province_of(code), code, rule_id, chosen.evidence)
            return PlaceAmbiguity(
                tuple(sorted(codes)),
                next(iter(provinces)) if len(provinces) == 1 else "",
                _join(m.evidence for m in evidence),
            )
        assert best_province is not None
        return self._province(province, best_province)

    @staticmethod
    def _province(province: list[_Mention], score: int) -> PlaceMatch | None:
        top = [m for m in province if m.score == score]
        codes = {next(iter(m.codes)) for m in top}
        if len(codes) != 1:
            return None
        code = codes.pop()
        return PlaceMatch(code, "", top[0].rule_id, top[0].evidence)


def _agree(mentions: Sequence[_Mention]) -> frozenset[str]:
    """The codes the mentions agree on: their intersection when it is not empty (the same
    place named twice, once ambiguously), else their union (different places)."""
    common = frozenset.intersection(*(m.codes for m in mentions))
    if common:
        return common
    return frozenset.union(*(m.codes for m in mentions))


def _join(evidence: Iterable[str]) -> str:
    seen: list[str] = []
    for item in evidence:
        if item not in seen:
            seen.append(item)
    return " / ".join(seen)


# --- categories ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CategoryRule:
    id: str
    category: str
    precedence: int
    regex: re.Pattern[str]


# --- loading ------------------------------------------------------------------------------------


class _Problem:
    def __init__(self, source: str) -> None:
        self.source = source

    def __call__(self, message: str) -> None:
        raise TextRulesError(f"{self.source}: {message}")


def _strings(value: object, where: str, problem: _Problem) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problem(f"{where} must be a list of strings")
    assert isinstance(value, list)
    return [str(v) for v in value]


def _mapping(value: object, where: str, problem: _Problem) -> dict[str, object]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        problem(f"{where} must be a mapping")
    assert isinstance(value, dict)
    return {str(k): v for k, v in value.items()}


def _unknown(keys: Iterable[str], allowed: frozenset[str], where: str, problem: _Problem) -> None:
    extra = sorted(set(keys) - allowed)
    if extra:
        problem(f"unknown key(s) in {where}: {', '.join(extra)}")


def _rule(raw: object, index: int, problem: _Problem) -> _CategoryRule:
    where = f"rules[{index}]"
    rule = _mapping(raw, where, problem)
    _unknown(rule, _RULE_KEYS, where, problem)
    rule_id = rule.get("id")
    if not isinstance(rule_id, str) or not rule_id:
        problem(f"{where} has no id")
    assert isinstance(rule_id, str)
    where = f"rule {rule_id!r}"
    category = rule.get("category")
    if category not in _CATEGORIES:
        problem(f"{where}: unknown category {category!r}")
    precedence = rule.get("precedence")
    if not isinstance(precedence, int) or isinstance(precedence, bool):
        problem(f"{where}: precedence must be an integer")
    assert isinstance(precedence, int)
    parts: list[str] = []
    for phrase in _strings(rule.get("phrases"), f"{where} phrases", problem):
        normalised = normalise(phrase)
        if not normalised:
            problem(f"{where}: empty phrase {phrase!r}")
        parts.append(re.escape(normalised).replace(r"\ ", " "))
    for pattern in _strings(rule.get("patterns"), f"{where} patterns", problem):
        try:
            re.compile(pattern)
        except re.error as error:
            problem(f"{where}: invalid regex {pattern!r}: {error}")
        parts.append(f"(?:{pattern})")
    if not parts:
        problem(f"{where} has no phrases or patterns")
    regex = re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)")
    return _CategoryRule(rule_id, str(category), precedence, regex)


def _cues(raw: object, problem: _Problem) -> _Cues:
    cues = _mapping(raw, "places.cues", problem)
    _unknown(cues, _CUE_KEYS, "places.cues", problem)
    missing = sorted(_CUE_KEYS - set(cues))
    if missing:
        problem(f"places.cues lacks {', '.join(missing)}")

    def phrases(key: str) -> frozenset[tuple[str, ...]]:
        return frozenset(
            _phrase_tokens(w) for w in _strings(cues[key], f"places.cues.{key}", problem)
        )

    def words(key: str) -> frozenset[str]:
        return frozenset(normalise(w) for w in _strings(cues[key], f"places.cues.{key}", problem))

    return _Cues(
        phrases("kabupaten"),
        phrases("kota"),
        phrases("province"),
        phrases("office"),
        words("location"),
        words("land"),
        words("residence"),
    )


class TextRules:
    """The text rules of one file, compiled."""

    version: str  # "<yaml version>+<first 8 hex of the file's sha256>"

    def __init__(self, version: str, rules: list[_CategoryRule], places: _Places) -> None:
        self.version = version
        self._rules = sorted(rules, key=lambda r: -r.precedence)
        self._places = places

    @classmethod
    def load_packaged(cls) -> TextRules:
        data = resources.files("aduan_intake").joinpath("data", "text-rules.yaml").read_bytes()
        return cls.parse(data, PACKAGED_NAME)

    @classmethod
    def load_file(cls, path: Path) -> TextRules:
        try:
            data = path.read_bytes()
        except OSError as error:
            raise TextRulesError(f"{path}: cannot read: {error}") from error
        return cls.parse(data, str(path))

    @classmethod
    def parse(cls, data: bytes, source: str) -> TextRules:
        problem = _Problem(source)
        try:
            raw = yaml.safe_load(data)
        except yaml.YAMLError as error:
            raise TextRulesError(f"{source}: not valid YAML: {error}") from error
        if not isinstance(raw, dict):
            problem("not a YAML mapping")
        top = _mapping(raw, "the file", problem)
        _unknown(top, _TOP_KEYS, "the file", problem)
        version = top.get("version")
        if version is None or str(version).strip() == "":
            problem("missing version")
        if "rules" not in top or not isinstance(top["rules"], list) or not top["rules"]:
            problem("missing rules (a non-empty list)")
        rules_raw = top["rules"]
        assert isinstance(rules_raw, list)
        rules = [_rule(raw_rule, i, problem) for i, raw_rule in enumerate(rules_raw)]
        seen: set[str] = set()
        for rule in rules:
            if rule.id in seen:
                problem(f"duplicate rule id {rule.id!r}")
            seen.add(rule.id)
        places_raw = _mapping(top.get("places"), "places", problem)
        _unknown(places_raw, _PLACE_KEYS, "places", problem)
        aliases: dict[str, list[str]] = {}
        for alias, codes in _mapping(places_raw.get("aliases"), "places.aliases", problem).items():
            if isinstance(codes, str):
                codes = [codes]
            aliases[alias] = _strings(codes, f"alias {alias!r}", problem)
            if not aliases[alias]:
                problem(f"alias {alias!r} names no area")
        places = _Places(
            area_registry(),
            aliases,
            _strings(places_raw.get("denylist"), "places.denylist", problem),
            _strings(places_raw.get("needs_type"), "places.needs_type", problem),
            _strings(places_raw.get("blocked_phrases"), "places.blocked_phrases", problem),
            _strings(places_raw.get("not_place_before"), "places.not_place_before", problem),
            _cues(places_raw.get("cues"), problem),
            problem,
        )
        digest = hashlib.sha256(data).hexdigest()[:8]
        return cls(f"{str(version).strip()}+{digest}", rules, places)

    def locate(self, text: str) -> PlaceMatch | PlaceAmbiguity | None:
        """The regency/city or province the text names; an ambiguity when it names a regency
        and a city of the same name (or several places) without saying which; None when it
        names no place."""
        return self._places.locate(text)

    def classify(self, text: str) -> CategoryMatch | None:
        """The category of the complaint the text describes; None when no rule matches."""
        norm = _normalise(text)
        best: tuple[_CategoryRule, re.Match[str]] | None = None
        for rule in self._rules:
            if best is not None and rule.precedence < best[0].precedence:
                break
            found = rule.regex.search(norm.text)
            if found is not None and (best is None or found.start() < best[1].start()):
                best = (rule, found)
        if best is None:
            return None
        rule, found = best
        return CategoryMatch(
            rule.category, rule.id, norm.original(text, found.start(), found.end())
        )
