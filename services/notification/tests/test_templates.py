"""Templates: every one renders in both languages on every channel of its audience; a template
that references an undeclared variable fails when templates load."""

from __future__ import annotations

from pathlib import Path

import pytest

from aduan.errors import NotFoundError, ValidationError
from aduan_notification.templates import (
    CHANNEL_PARTS,
    LANGUAGES,
    PARTS_BY_AUDIENCE,
    TemplateCatalog,
    TemplateLoadError,
)

CATALOG = TemplateCatalog.load_packaged()
EXPECTED = {
    "complaint_filed",
    "case_assigned",
    "officer_response",
    "case_resolved",
    "case_closed",
    "status_reply",
    "office_case_assigned",
    "office_case_escalated",
    "office_sla_breached",
    "office_ping_pong",
}


def channels_of(audience: str) -> list[str]:
    return [c for c, (_, body) in CHANNEL_PARTS.items() if body in PARTS_BY_AUDIENCE[audience]]


def test_the_catalog_has_a_template_for_every_notifying_event() -> None:
    assert set(CATALOG.templates) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_template_renders_in_both_languages_on_every_channel(
    name: str, language: str
) -> None:
    template = CATALOG.get(name)
    for channel in channels_of(template.audience):
        rendered = template.render(language, channel, template.sample)
        assert rendered.body
        assert "{{" not in rendered.body
        assert "{%" not in rendered.body
        assert template.sample["ticket_number"] in rendered.body
        if channel == "EMAIL":
            assert rendered.subject
        assert len(rendered.version) == 12


def test_languages_differ() -> None:
    template = CATALOG.get("complaint_filed")
    indonesian = template.render("id", "WHATSAPP", template.sample).body
    english = template.render("en", "WHATSAPP", template.sample).body
    assert "pengaduan" in indonesian.lower()
    assert "complaint" in english.lower()


@pytest.mark.parametrize(
    "status", ["RECEIVED", "ASSIGNED", "IN_PROGRESS", "RESOLVED", "CLOSED", "WITHDRAWN"]
)
def test_every_status_reads_as_words(status: str) -> None:
    template = CATALOG.get("status_reply")
    for language in LANGUAGES:
        body = template.render(language, "WHATSAPP", {**template.sample, "status": status}).body
        assert status not in body


def test_an_empty_reporter_name_gets_a_polite_greeting() -> None:
    template = CATALOG.get("case_closed")
    body = template.render("id", "WHATSAPP", {**template.sample, "reporter_name": ""}).body
    assert body.startswith("Yth. Bapak/Ibu,")


GOOD = """
audience = "office"
variables = ["ticket_number"]
[sample]
ticket_number = "ADU-1"
[id]
webhook = "Tiket {{ ticket_number }}"
[en]
webhook = "Ticket {{ ticket_number }}"
"""


def load(tmp_path: Path, text: str) -> TemplateCatalog:
    (tmp_path / "t.toml").write_text(text)
    return TemplateCatalog.load_directory(tmp_path)


def test_a_valid_template_loads(tmp_path: Path) -> None:
    assert (
        load(tmp_path, GOOD).get("t").render("en", "OFFICE_WEBHOOK", {"ticket_number": "X"}).body
        == "Ticket X"
    )


def test_a_template_using_an_undeclared_variable_fails_at_load(tmp_path: Path) -> None:
    broken = GOOD.replace(
        'webhook = "Ticket {{ ticket_number }}"',
        'webhook = "{% if false %}{{ office }}{% endif %}"',
    )
    with pytest.raises(
        TemplateLoadError, match=r"en.webhook uses undeclared variable\(s\) \['office'\]"
    ):
        load(tmp_path, broken)


def test_a_template_missing_a_language_fails_at_load(tmp_path: Path) -> None:
    with pytest.raises(TemplateLoadError, match=r"no \[en\] section"):
        load(tmp_path, GOOD.split("[en]")[0])


def test_a_sample_must_cover_the_declared_variables(tmp_path: Path) -> None:
    with pytest.raises(TemplateLoadError, match="sample must give exactly"):
        load(
            tmp_path,
            GOOD.replace('variables = ["ticket_number"]', 'variables = ["ticket_number", "x"]'),
        )


def test_a_template_that_cannot_render_fails_at_load(tmp_path: Path) -> None:
    with pytest.raises(TemplateLoadError, match="does not render"):
        load(
            tmp_path,
            GOOD.replace('"Tiket {{ ticket_number }}"', '"{{ ticket_number.nope.deeper }}"'),
        )


def test_preview_uses_samples_and_overrides() -> None:
    rendered = CATALOG.preview("case_assigned", "en", "EMAIL", {"office_name": "Kantah Bogor"})
    assert "Kantah Bogor" in rendered.subject
    assert "Kantah Bogor" in rendered.body
    assert rendered.version == CATALOG.get("case_assigned").version("en", "EMAIL")


def test_preview_rejects_unknown_names_languages_variables_and_channels() -> None:
    with pytest.raises(NotFoundError):
        CATALOG.preview("nope", "id", "", {})
    with pytest.raises(ValidationError, match="language"):
        CATALOG.preview("case_closed", "fr", "", {})
    with pytest.raises(ValidationError, match="not a variable"):
        CATALOG.preview("case_closed", "id", "", {"nik": "1"})
    with pytest.raises(ValidationError, match="channel"):
        CATALOG.preview("office_ping_pong", "id", "EMAIL", {})
