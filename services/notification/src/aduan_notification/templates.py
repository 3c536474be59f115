"""Message templates: Jinja2 with StrictUndefined, Bahasa Indonesia (default) and English, per
channel, versioned in the repository (`templates/*.toml`, shipped as package data).

Every template declares its variables (`variables`, which every event must supply, and
`optional_variables`, which it may leave out: they render as empty) and sample values. Loading
checks each language and channel variant: it may reference declared variables only (found by
parsing, so a variable used only in a rarely taken branch is caught too), it must render with the
sample (strictly: a time that does not parse fails here), with the optional variables left out,
and with every variable empty (leniently, as at send time). A broken template stops the service at
start and fails the tests; it cannot fail at send time.

What the templates have besides plain Jinja2 (the style rules are in docs/messages.md):

- `{{ accept_due | waktu(office_code) }}`: an ISO-8601 time in the office's zone,
  "27 Maret 2026 pukul 23.59 WITA" / "27 March 2026, 23:59 WITA" (the language is the template
  section's). Without an office code (or with one of no known zone) the zone is taken from the
  time's own UTC offset when it is +7/+8/+9, else WIB. An empty value renders empty.
- `{{ status | status_label(office_name) }}`: a complaint status in words.
- Office names that arrive as office codes (`office_name`, `from_office_name`,
  `returned_to_name`: rules.py falls back to the code when an event has no name) are shown as a
  name derived from the code, never as the code.
- Reporter templates may add the parts `list_button` (at most 20 characters) and `list_title`
  (at most 24) in every language: their WhatsApp text is then the body of an interactive list
  message (at most 1024 characters).
- `MessageTemplate.whatsapp_parameter_values(variables, language)`: the parameters of the approved
  WhatsApp template, cleaned as WhatsApp requires outside the 24-hour window.
- `MessageTemplate.label(language)`: a short human name of the message (`[label]` in the file),
  e.g. for telling an office which message could not be delivered.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta

from aduan.core.errors import FieldViolation, NotFoundError, ValidationError
from aduan.reference.areas import area_registry
from aduan.reference.timezones import (
    WIB,
    UnknownZoneError,
    format_in_zone,
    office_zone,
    zone_of_offset,
)

log = logging.getLogger(__name__)

LANGUAGES = ("id", "en")
# Variables known only when sending (from intake's GetReporterContact); never stored.
SEND_TIME_VARIABLES = frozenset({"reporter_name"})
# The parts each audience's templates must provide in every language.
PARTS_BY_AUDIENCE = {
    "reporter": ("whatsapp", "email_subject", "email_body"),
    "office": ("webhook",),
}
# Parts a reporter template may add (in every language or none): a WhatsApp interactive list's
# button label and section title, with WhatsApp's length limits.
LIST_PARTS = {"list_button": 20, "list_title": 24}
WHATSAPP_LIST_BODY_LIMIT = 1024
WHATSAPP_TEXT_LIMIT = 4096
# WhatsApp's limit for one parameter of an approved template.
WHATSAPP_PARAMETER_LIMIT = 1024
# Which parts a channel renders: (subject part or None, body part).
CHANNEL_PARTS = {
    "WHATSAPP": (None, "whatsapp"),
    "EMAIL": ("email_subject", "email_body"),
    "OFFICE_WEBHOOK": (None, "webhook"),
}
# Variables holding an office's name, which must never show an office code.
OFFICE_NAME_VARIABLES = frozenset({"office_name", "from_office_name", "returned_to_name"})
_OFFICE_CODE = re.compile(r"^(PUSAT|KANWIL|KANTAH)\.[A-Za-z0-9_.]*$")
# Context keys the filters read; not variables a template may use.
_LANGUAGE = "_aduan_language"
_STRICT = "_aduan_strict"

# A complaint status in words: (without an office, with "{office}").
STATUS_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "id": {
        "RECEIVED": (
            "telah diterima; kantor yang akan menanganinya sedang ditentukan",
            "telah diterima; kantor yang akan menanganinya sedang ditentukan",
        ),
        "ASSIGNED": ("diteruskan ke kantor yang berwenang", "diteruskan ke {office}"),
        "IN_PROGRESS": ("sedang ditangani", "sedang ditangani {office}"),
        "RESOLVED": ("telah diselesaikan", "telah diselesaikan oleh {office}"),
        "CLOSED": ("telah ditutup", "telah ditutup"),
        "WITHDRAWN": ("telah dicabut", "telah dicabut"),
        "": ("sedang diproses", "sedang diproses"),
    },
    "en": {
        "RECEIVED": (
            "received; the responsible office is being determined",
            "received; the responsible office is being determined",
        ),
        "ASSIGNED": ("passed to the responsible office", "passed to {office}"),
        "IN_PROGRESS": ("being handled", "being handled by {office}"),
        "RESOLVED": ("resolved", "resolved by {office}"),
        "CLOSED": ("closed", "closed"),
        "WITHDRAWN": ("withdrawn", "withdrawn"),
        "": ("being processed", "being processed"),
    },
}


class TemplateLoadError(Exception):
    """A template file is malformed or uses a variable it does not declare."""


class TemplateValueError(ValueError):
    """A value a template cannot show (a time that does not parse, an unknown status), found
    while rendering strictly: at load with the sample, or in a preview."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    version: str
    # For a WhatsApp interactive list (templates with list parts): the button and section title.
    list_button: str = ""
    list_title: str = ""

    def __repr__(self) -> str:  # bodies may carry a reporter's name: keep them out of logs
        return f"Rendered(version={self.version!r}, body=<{len(self.body)} chars>)"

    @property
    def is_list(self) -> bool:
        return bool(self.list_button)


def office_display_name(code: str) -> str:
    """A name for an office known only by its code: "KANTAH.73.71" -> "Kantor Pertanahan Kota
    Makassar", "KANWIL.32" -> "Kantor Wilayah BPN Provinsi Jawa Barat", Pusat units ->
    "Kementerian ATR/BPN"."""
    parts = code.split(".")
    areas = area_registry()
    if parts[0] == "KANTAH":
        regency = areas.regencies.get(".".join(parts[1:3]))
        return f"Kantor Pertanahan {regency.name}" if regency else "Kantor Pertanahan"
    if parts[0] == "KANWIL" and len(parts) > 1:
        province = areas.provinces.get(parts[1])
        if province:
            return f"Kantor Wilayah BPN Provinsi {province.name}"
        return "Kantor Wilayah BPN"
    return "Kementerian ATR/BPN"


def status_label(status: str, office_name: str = "", language: str = "id") -> str:
    """A complaint status in words, naming the office where the status has one:
    ("IN_PROGRESS", "Kantor Pertanahan Kota Bandung") -> "sedang ditangani Kantor Pertanahan Kota
    Bandung". An unknown status reads "sedang diproses" / "being processed"."""
    labels = STATUS_LABELS.get(language, STATUS_LABELS["id"])
    without, with_office = labels.get(status, labels[""])
    if _OFFICE_CODE.match(office_name):
        office_name = office_display_name(office_name)
    return with_office.format(office=office_name) if office_name else without


def status_line(ticket_number: str, status: str, office_name: str, language: str = "id") -> str:
    """One line of `status_overview`'s `complaint_lines`:
    "ADU-2026-7KQ9M2: sedang ditangani Kantor Pertanahan Kota Bandung"."""
    return f"{ticket_number}: {status_label(status, office_name, language)}"


def whatsapp_parameter(value: str) -> str:
    """A value as WhatsApp accepts it as an approved template's parameter: no newline, no tab, no
    run of more than four spaces (every whitespace run becomes one space), trimmed, at most 1024
    characters; never empty (WhatsApp refuses empty parameters), so "-" for nothing."""
    text = " ".join(value.split())
    if len(text) > WHATSAPP_PARAMETER_LIMIT:
        text = text[: WHATSAPP_PARAMETER_LIMIT - 1].rstrip() + "…"
    return text or "-"


@jinja2.pass_context
def _waktu_filter(context: jinja2.runtime.Context, value: Any, office_code: Any = "") -> str:
    text = str(value or "").strip()
    if not text:
        return ""
    strict = bool(context.get(_STRICT))
    language = str(context.get(_LANGUAGE) or "id")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        if strict:
            raise TemplateValueError(f"{text!r} is not an ISO-8601 time") from None
        log.warning("a template was given a time that does not parse; shown as it is")
        return text
    if moment.tzinfo is None:
        if strict:
            raise TemplateValueError(f"{text!r} has no UTC offset")
        moment = moment.replace(tzinfo=UTC)
    zone = None
    code = str(office_code or "").strip()
    if code:
        try:
            zone = office_zone(code)
        except UnknownZoneError:
            if strict:
                raise TemplateValueError(f"office {code!r} has no known time zone") from None
    zone = zone or zone_of_offset(moment.utcoffset()) or WIB
    return format_in_zone(moment, zone, language)


@jinja2.pass_context
def _status_label_filter(context: jinja2.runtime.Context, value: Any, office_name: Any = "") -> str:
    status = str(value or "")
    language = str(context.get(_LANGUAGE) or "id")
    if context.get(_STRICT) and status not in STATUS_LABELS["id"]:
        raise TemplateValueError(f"{status!r} is not a complaint status")
    return status_label(status, str(office_name or ""), language)


def _tidy(text: str) -> str:
    """No trailing blanks, at most one empty line in a row (an optional line left out leaves no
    gap), no surrounding whitespace."""
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


@dataclass(frozen=True)
class MessageTemplate:
    name: str
    audience: str
    description: str
    # Every declared variable, the optional ones included.
    variables: frozenset[str]
    sample: Mapping[str, str]
    # WhatsApp approved-template parameters, in order (sent outside the 24-hour window).
    whatsapp_parameters: tuple[str, ...]
    sources: Mapping[tuple[str, str], str]
    compiled: Mapping[tuple[str, str], jinja2.Template] = field(repr=False)
    optional: frozenset[str] = frozenset()
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def whatsapp_template_name(self) -> str:
        return f"aduan_{self.name}"

    @property
    def is_list(self) -> bool:
        """Its WhatsApp variant is an interactive list message."""
        return ("id", "list_button") in self.sources

    def label(self, language: str = "id") -> str:
        """A short human name of this message, e.g. "tanggapan kantor atas pengaduan"."""
        return self.labels.get(language) or self.labels.get("id") or self.description or self.name

    def default_channel(self) -> str:
        return "WHATSAPP" if self.audience == "reporter" else "OFFICE_WEBHOOK"

    def version(self, language: str, channel: str) -> str:
        digest = hashlib.sha256()
        for part in self._all_parts(channel):
            digest.update(self.sources[(language, part)].encode())
        return digest.hexdigest()[:12]

    def _parts(self, channel: str) -> tuple[str | None, str]:
        parts = CHANNEL_PARTS.get(channel)
        if parts is None or parts[1] not in PARTS_BY_AUDIENCE[self.audience]:
            raise ValidationError(
                FieldViolation(
                    "channel", f"template {self.name!r} has no {channel} variant ({self.audience})"
                )
            )
        return parts

    def _all_parts(self, channel: str) -> list[str]:
        subject_part, body_part = self._parts(channel)
        parts = [p for p in (subject_part, body_part) if p is not None]
        if body_part == "whatsapp":
            parts += [p for p in LIST_PARTS if ("id", p) in self.sources]
        return parts

    def _values(
        self, language: str, variables: Mapping[str, str], *, strict: bool
    ) -> dict[str, Any]:
        values: dict[str, Any] = {name: "" for name in self.optional}
        values.update({name: variables[name] for name in self.variables if name in variables})
        for name in OFFICE_NAME_VARIABLES & set(values):
            if _OFFICE_CODE.match(str(values[name])):
                values[name] = office_display_name(str(values[name]))
        values[_LANGUAGE] = language
        values[_STRICT] = strict
        return values

    def render(
        self, language: str, channel: str, variables: Mapping[str, str], *, strict: bool = False
    ) -> Rendered:
        """The message. `strict` (loading, previews) raises TemplateValueError for a value the
        template cannot show; otherwise (sending) such a value is shown as it is."""
        if language not in LANGUAGES:
            raise ValidationError(FieldViolation("language", f"must be one of {LANGUAGES}"))
        subject_part, body_part = self._parts(channel)
        values = self._values(language, variables, strict=strict)

        subject = "" if subject_part is None else self._line(language, subject_part, values)
        extras = {}
        if body_part == "whatsapp":
            for name, limit in LIST_PARTS.items():
                if (language, name) in self.compiled:
                    extras[name] = self._line(language, name, values)[:limit]
        body = _tidy(self.compiled[(language, body_part)].render(values))
        return Rendered(subject, body, self.version(language, channel), **extras)

    def _line(self, language: str, part: str, values: Mapping[str, Any]) -> str:
        """A one-line part (a subject, a list button or title)."""
        return " ".join(self.compiled[(language, part)].render(values).split())

    def whatsapp_parameter_values(
        self, variables: Mapping[str, str], language: str = "id"
    ) -> list[str]:
        """The values of `whatsapp_parameters`, in order, as WhatsApp accepts them for an approved
        template (see `whatsapp_parameter`): an officer's multi-line answer becomes one line. A
        `status` parameter is given in words, an office code as a name."""
        values = self._values(language, variables, strict=False)
        result = []
        for name in self.whatsapp_parameters:
            value = str(values.get(name, ""))
            if name == "status":
                value = status_label(value, "", language)
            result.append(whatsapp_parameter(value))
        return result

    def missing(self, provided: Iterable[str]) -> set[str]:
        return set(self.variables) - set(provided) - SEND_TIME_VARIABLES - self.optional


class TemplateCatalog:
    def __init__(self, templates: Mapping[str, MessageTemplate]) -> None:
        self.templates = dict(templates)

    @classmethod
    def load_packaged(cls) -> TemplateCatalog:
        folder = resources.files("aduan_notification") / "templates"
        files = {
            entry.name: entry.read_text(encoding="utf-8")
            for entry in folder.iterdir()
            if entry.name.endswith(".toml")
        }
        return cls.from_sources(files)

    @classmethod
    def load_directory(cls, directory: Path) -> TemplateCatalog:
        return cls.from_sources(
            {path.name: path.read_text(encoding="utf-8") for path in directory.glob("*.toml")}
        )

    @classmethod
    def from_sources(cls, files: Mapping[str, str]) -> TemplateCatalog:
        environment = jinja2.Environment(
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # plain-text messages; the webhook JSON is encoded separately
            keep_trailing_newline=False,
        )
        environment.filters["waktu"] = _waktu_filter
        environment.filters["status_label"] = _status_label_filter
        templates = {}
        for filename, text in sorted(files.items()):
            template = _load_one(environment, filename.removesuffix(".toml"), text)
            templates[template.name] = template
        if not templates:
            raise TemplateLoadError("no templates found")
        return cls(templates)

    def get(self, name: str) -> MessageTemplate:
        template = self.templates.get(name)
        if template is None:
            raise NotFoundError(f"no template named {name!r}")
        return template

    def preview(
        self, name: str, language: str, channel: str, overrides: Mapping[str, str]
    ) -> Rendered:
        template = self.get(name)
        unknown = sorted(set(overrides) - template.variables)
        if unknown:
            raise ValidationError(
                [
                    FieldViolation(f"variables[{v}]", "not a variable of this template")
                    for v in unknown
                ]
            )
        try:
            return template.render(
                language or "id",
                channel or template.default_channel(),
                {**template.sample, **overrides},
                strict=True,
            )
        except TemplateValueError as error:
            raise ValidationError(FieldViolation("variables", str(error))) from None


def _load_one(environment: jinja2.Environment, name: str, text: str) -> MessageTemplate:
    def fail(problem: str) -> TemplateLoadError:
        return TemplateLoadError(f"template {name}: {problem}")

    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise fail(f"not valid TOML: {error}") from None
    audience = data.get("audience")
    if audience not in PARTS_BY_AUDIENCE:
        raise fail(f"audience must be one of {sorted(PARTS_BY_AUDIENCE)}")
    required = frozenset(data.get("variables", []))
    optional = frozenset(data.get("optional_variables", []))
    if required & optional:
        raise fail(f"variables both required and optional: {sorted(required & optional)}")
    variables = required | optional
    sample = {str(k): str(v) for k, v in data.get("sample", {}).items()}
    if set(sample) != set(variables):
        raise fail(
            f"sample must give exactly the declared variables; missing {sorted(variables - set(sample))},"
            f" extra {sorted(set(sample) - variables)}"
        )
    parameters = tuple(data.get("whatsapp_parameters", []))
    if not set(parameters) <= variables:
        raise fail(f"whatsapp_parameters not declared: {sorted(set(parameters) - variables)}")
    labels = data.get("label", {})
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise fail("[label] must map languages to text")
    list_parts = tuple(LIST_PARTS) if audience == "reporter" else ()

    sources: dict[tuple[str, str], str] = {}
    compiled: dict[tuple[str, str], jinja2.Template] = {}
    for language in LANGUAGES:
        section = data.get(language)
        if not isinstance(section, dict):
            raise fail(f"no [{language}] section")
        unknown = sorted(set(section) - set(PARTS_BY_AUDIENCE[audience]) - set(list_parts))
        if unknown:
            raise fail(f"[{language}] has unknown part(s) {unknown}")
        present = [p for p in list_parts if p in section]
        if present and "list_button" not in present:
            raise fail(f"[{language}] has a list_title but no list_button")
        for part in (*PARTS_BY_AUDIENCE[audience], *present):
            source = section.get(part)
            if not isinstance(source, str) or not source.strip():
                raise fail(f"[{language}] has no {part!r}")
            where = f"{language}.{part}"
            try:
                used = meta.find_undeclared_variables(environment.parse(source))
                undeclared = used - variables
                if undeclared:
                    raise fail(f"{where} uses undeclared variable(s) {sorted(undeclared)}")
                compiled[(language, part)] = environment.from_string(source)
            except jinja2.TemplateError as error:
                raise fail(f"{where} does not compile: {error}") from None
            sources[(language, part)] = source
    if {p for (language, p) in sources if language == "id"} != {
        p for (language, p) in sources if language == "en"
    }:
        raise fail("the languages have different parts")

    template = MessageTemplate(
        name=name,
        audience=audience,
        description=str(data.get("description", "")),
        variables=variables,
        sample=sample,
        whatsapp_parameters=parameters,
        sources=sources,
        compiled=compiled,
        optional=optional,
        labels=dict(labels),
    )
    _check_renders(template, fail)
    return template


def _check_renders(template: MessageTemplate, fail: Callable[[str], TemplateLoadError]) -> None:
    """Render every variant with the sample (strictly), with the optional variables left out,
    and with every variable empty (as at send time); check WhatsApp's length limits."""
    channels = [
        c for c, (_, body) in CHANNEL_PARTS.items() if body in PARTS_BY_AUDIENCE[template.audience]
    ]
    without_optional = {k: v for k, v in template.sample.items() if k not in template.optional}
    empty = dict.fromkeys(template.variables, "")
    for language in LANGUAGES:
        for channel in channels:
            where = f"{language}.{channel}"
            try:
                rendered = template.render(language, channel, template.sample, strict=True)
                template.render(language, channel, without_optional, strict=True)
            except (jinja2.TemplateError, TemplateValueError) as error:
                raise fail(f"{where} does not render with the sample: {error}") from None
            try:
                template.render(language, channel, empty)
            except (jinja2.TemplateError, TemplateValueError) as error:
                raise fail(f"{where} does not render with empty values: {error}") from None
            if channel != "WHATSAPP":
                continue
            values = template._values(language, template.sample, strict=True)
            for part, limit in LIST_PARTS.items():
                if (language, part) in template.compiled:
                    text = template._line(language, part, values)
                    if len(text) > limit:
                        raise fail(f"{language}.{part} is longer than {limit} characters: {text!r}")
            limit = WHATSAPP_LIST_BODY_LIMIT if template.is_list else WHATSAPP_TEXT_LIMIT
            if len(rendered.body) > limit:
                raise fail(f"{language}.whatsapp is longer than {limit} characters with the sample")
