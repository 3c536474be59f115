"""Message templates: Jinja2 with StrictUndefined, Bahasa Indonesia (default) and English, per
channel, versioned in the repository (`templates/*.toml`, shipped as package data).

Every template declares its variables and sample values. Loading checks each language and channel
variant: it may reference declared variables only (found by parsing, so a variable used only in a
rarely taken branch is caught too), and it must render with the sample. A broken template stops
the service at start and fails the tests; it cannot fail at send time.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta

from aduan.errors import FieldViolation, NotFoundError, ValidationError

LANGUAGES = ("id", "en")
# Variables known only when sending (from intake's GetReporterContact); never stored.
SEND_TIME_VARIABLES = frozenset({"reporter_name"})
# The parts each audience's templates must provide in every language.
PARTS_BY_AUDIENCE = {
    "reporter": ("whatsapp", "email_subject", "email_body"),
    "office": ("webhook",),
}
# Which parts a channel renders: (subject part or None, body part).
CHANNEL_PARTS = {
    "WHATSAPP": (None, "whatsapp"),
    "EMAIL": ("email_subject", "email_body"),
    "OFFICE_WEBHOOK": (None, "webhook"),
}


class TemplateLoadError(Exception):
    """A template file is malformed or uses a variable it does not declare."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    version: str

    def __repr__(self) -> str:  # bodies may carry a reporter's name: keep them out of logs
        return f"Rendered(version={self.version!r}, body=<{len(self.body)} chars>)"


@dataclass(frozen=True)
class MessageTemplate:
    name: str
    audience: str
    description: str
    variables: frozenset[str]
    sample: Mapping[str, str]
    # WhatsApp approved-template parameters, in order (sent outside the 24-hour window).
    whatsapp_parameters: tuple[str, ...]
    sources: Mapping[tuple[str, str], str]
    compiled: Mapping[tuple[str, str], jinja2.Template] = field(repr=False)

    @property
    def whatsapp_template_name(self) -> str:
        return f"aduan_{self.name}"

    def default_channel(self) -> str:
        return "WHATSAPP" if self.audience == "reporter" else "OFFICE_WEBHOOK"

    def version(self, language: str, channel: str) -> str:
        subject_part, body_part = self._parts(channel)
        digest = hashlib.sha256()
        for part in (subject_part, body_part):
            if part is not None:
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

    def render(self, language: str, channel: str, variables: Mapping[str, str]) -> Rendered:
        if language not in LANGUAGES:
            raise ValidationError(FieldViolation("language", f"must be one of {LANGUAGES}"))
        subject_part, body_part = self._parts(channel)
        values = {name: variables[name] for name in self.variables if name in variables}
        subject = (
            "" if subject_part is None else self.compiled[(language, subject_part)].render(values)
        )
        body = self.compiled[(language, body_part)].render(values)
        return Rendered(subject.strip(), body.strip(), self.version(language, channel))

    def missing(self, provided: Iterable[str]) -> set[str]:
        return set(self.variables) - set(provided) - SEND_TIME_VARIABLES


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
        return template.render(
            language or "id",
            channel or template.default_channel(),
            {**template.sample, **overrides},
        )


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
    variables = frozenset(data.get("variables", []))
    sample = {str(k): str(v) for k, v in data.get("sample", {}).items()}
    if set(sample) != set(variables):
        raise fail(
            f"sample must give exactly the declared variables; missing {sorted(variables - set(sample))},"
            f" extra {sorted(set(sample) - variables)}"
        )
    parameters = tuple(data.get("whatsapp_parameters", []))
    if not set(parameters) <= variables:
        raise fail(f"whatsapp_parameters not declared: {sorted(set(parameters) - variables)}")
    sources: dict[tuple[str, str], str] = {}
    compiled: dict[tuple[str, str], jinja2.Template] = {}
    for language in LANGUAGES:
        section = data.get(language)
        if not isinstance(section, dict):
            raise fail(f"no [{language}] section")
        for part in PARTS_BY_AUDIENCE[audience]:
            source = section.get(part)
            if not isinstance(source, str) or not source.strip():
                raise fail(f"[{language}] has no {part!r}")
            where = f"{language}.{part}"
            try:
                used = meta.find_undeclared_variables(environment.parse(source))
                undeclared = used - variables
                if undeclared:
                    raise fail(f"{where} uses undeclared variable(s) {sorted(undeclared)}")
                compiled_part = environment.from_string(source)
                compiled_part.render(sample)
            except jinja2.TemplateError as error:
                raise fail(f"{where} does not render with the sample: {error}") from None
            sources[(language, part)] = source
            compiled[(language, part)] = compiled_part
    return MessageTemplate(
        name=name,
        audience=audience,
        description=str(data.get("description", "")),
        variables=variables,
        sample=sample,
        whatsapp_parameters=parameters,
        sources=sources,
        compiled=compiled,
    )
