"""The questions intake asks a WhatsApp reporter when it cannot tell where a complaint is about or
what it is about, as interactive list messages: the choices of each question, page by page, and
the ids that come back in `interactive.list_reply`. Intake reads the answers, notification builds
the lists; both use this module, so the reply ids have one definition. Transport-free.

A reply id names the ticket it answers, so an answer to an old question cannot land on another
complaint: `aduan:<ticket>:p:<province>`, `aduan:<ticket>:r:<regency>`,
`aduan:<ticket>:c:<CATEGORY>`, and `aduan:<ticket>:more:<p|r|c>:<page>[:<province>]` for the
row that shows the next page. WhatsApp limits (list messages): at most 10 rows, row id 200
characters, row title 24, row description 72.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from aduan.reference.areas import area_registry

MAX_ROWS = 10
MAX_TITLE = 24
MAX_DESCRIPTION = 72
PREFIX = "aduan"


class Question(StrEnum):
    PROVINCE = "PROVINCE"
    REGENCY = "REGENCY"
    CATEGORY = "CATEGORY"


_CODES = {Question.PROVINCE: "p", Question.REGENCY: "r", Question.CATEGORY: "c"}
_QUESTIONS = {code: question for question, code in _CODES.items()}

# The categories a reporter can choose, in the order shown, with their labels.
CATEGORY_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "LAND_SERVICE": {
        "id": ("Layanan pertanahan", "Sertipikat, balik nama, pengukuran, pendaftaran"),
        "en": ("Land services", "Certificates, transfers, measurement, registration"),
    },
    "LAND_DISPUTE": {
        "id": ("Sengketa tanah", "Sengketa, tumpang tindih, sertipikat ganda, mafia tanah"),
        "en": ("Land dispute", "Disputes, overlapping or double certificates, land mafia"),
    },
    "ILLEGAL_LEVY": {
        "id": ("Pungutan liar", "Pungli, calo, diminta uang di luar biaya resmi"),
        "en": ("Illegal levy", "Extortion, brokers, money asked beyond the official fee"),
    },
    "ABUSE_OF_AUTHORITY": {
        "id": ("Perilaku petugas", "Penyalahgunaan wewenang atau pelayanan yang tidak patut"),
        "en": ("Officer conduct", "Abuse of authority or improper service"),
    },
    "SPATIAL_PLANNING": {
        "id": ("Tata ruang", "RTRW, zonasi, KKPR"),
        "en": ("Spatial planning", "Spatial plans, zoning, KKPR"),
    },
    "LAND_ACQUISITION": {
        "id": ("Pengadaan tanah", "Ganti rugi, pembebasan lahan untuk pembangunan"),
        "en": ("Land acquisition", "Compensation, land clearing for public works"),
    },
    "INFORMATION_REQUEST": {
        "id": ("Permintaan informasi", "Syarat, biaya, atau prosedur layanan"),
        "en": ("Information request", "Requirements, fees or procedures"),
    },
    "OTHER": {
        "id": ("Lainnya", "Hal lain tentang pertanahan atau tata ruang"),
        "en": ("Other", "Anything else about land or spatial planning"),
    },
}
_MORE = {
    "id": ("Berikutnya »", "Tampilkan pilihan berikutnya"),
    "en": ("More »", "Show more choices"),
}


@dataclass(frozen=True)
class Choice:
    id: str
    title: str
    description: str = ""


@dataclass(frozen=True)
class Answer:
    """A reporter's choice from a question list."""

    ticket_number: str
    question: Question
    # The chosen province code, regency code or category; empty for a "more" row.
    value: str = ""
    # For a "more" row: the page to show next, and the province of a regency question.
    next_page: int = 0
    province_code: str = ""

    @property
    def wants_more(self) -> bool:
        return self.next_page > 0


_REPLY = re.compile(
    r"^aduan:(?P<ticket>ADU-\d{4}-[A-Z0-9]{6}):(?:"
    r"(?P<kind>[prc]):(?P<value>[A-Z0-9_.]{1,40})"
    r"|more:(?P<more>[prc]):(?P<page>[1-9]\d{0,2})(?::(?P<province>\d{2}))?)$"
)


def parse_reply(reply_id: str) -> Answer | None:
    """The answer a list reply id carries, or None for an id that is not one of ours (or names
    an unknown area or category)."""
    match = _REPLY.match(reply_id.strip())
    if match is None:
        return None
    ticket = match["ticket"]
    if match["more"]:
        question = _QUESTIONS[match["more"]]
        province = match["province"] or ""
        if question is Question.REGENCY and province not in area_registry().provinces:
            return None
        return Answer(ticket, question, next_page=int(match["page"]), province_code=province)
    question, value = _QUESTIONS[match["kind"]], match["value"]
    areas = area_registry()
    if question is Question.PROVINCE and value not in areas.provinces:
        return None
    if question is Question.REGENCY and value not in areas.regencies:
        return None
    if question is Question.CATEGORY and value not in CATEGORY_LABELS:
        return None
    province = areas.regencies[value].province_code if question is Question.REGENCY else ""
    return Answer(ticket, question, value, province_code=province)


def short_area_name(name: str) -> str:
    """A row title for an area name: common words abbreviated, then cut to 24 characters."""
    short = (
        name.replace("Kabupaten ", "Kab. ")
        .replace("Kota Adm. ", "Kota ")
        .replace("Kepulauan ", "Kep. ")
        .replace("Daerah Istimewa ", "DI ")
        .replace("Daerah Khusus Ibukota ", "DKI ")
    )
    return short if len(short) <= MAX_TITLE else short[: MAX_TITLE - 1].rstrip() + "…"


def _bare(name: str) -> tuple[str, str]:
    """Sort key of an area: its name without "Kabupaten"/"Kota", so that a regency and the city
    of the same name stand side by side (a citizen looks for "Bandung", not for a prefix)."""
    bare = re.sub(r"^(Kabupaten|Kota Adm\.|Kota)\s+", "", name)
    return bare, name


def _options(
    question: Question, province_code: str, candidates: tuple[str, ...], language: str
) -> list[tuple[str, str, str]]:
    """(value, title, description) of every choice of a question, in the order shown."""
    areas = area_registry()
    if question is Question.PROVINCE:
        return [
            (p.code, short_area_name(p.name), p.name[:MAX_DESCRIPTION])
            for p in sorted(areas.provinces.values(), key=lambda p: p.name)
        ]
    if question is Question.REGENCY:
        codes = candidates or tuple(r.code for r in areas.regencies_of(province_code))
        regencies = sorted((areas.regencies[c] for c in codes), key=lambda r: _bare(r.name))
        return [(r.code, short_area_name(r.name), r.name[:MAX_DESCRIPTION]) for r in regencies]
    labels = {c: labels.get(language, labels["id"]) for c, labels in CATEGORY_LABELS.items()}
    return [(category, title, text) for category, (title, text) in labels.items()]


def choices(
    ticket_number: str,
    question: Question,
    *,
    province_code: str = "",
    candidates: tuple[str, ...] = (),
    page: int = 1,
    language: str = "id",
) -> list[Choice]:
    """The rows of one page of a question (at most 10). When more choices follow, the last row
    shows the next page."""
    options = _options(question, province_code, candidates, language)
    per_page = MAX_ROWS if len(options) <= MAX_ROWS else MAX_ROWS - 1
    page = max(1, page)
    start = (page - 1) * per_page
    if start >= len(options):
        start, page = 0, 1
    code = _CODES[question]
    rows = [
        Choice(f"{PREFIX}:{ticket_number}:{code}:{value}", title, description)
        for value, title, description in options[start : start + per_page]
    ]
    if start + per_page < len(options):
        suffix = f":{province_code}" if question is Question.REGENCY and province_code else ""
        title, description = _MORE.get(language, _MORE["id"])
        rows.append(
            Choice(f"{PREFIX}:{ticket_number}:more:{code}:{page + 1}{suffix}", title, description)
        )
    return rows
