"""Templates: every one renders in both languages on every channel of its audience; a template
that references an undeclared variable fails when templates load."""

from __future__ import annotations

from pathlib import Path

import pytest

from aduan.core.errors import NotFoundError, ValidationError
from aduan_notification.templates import (
    CHANNEL_PARTS,
    LANGUAGES,
    PARTS_BY_AUDIENCE,
    TemplateCatalog,
    TemplateLoadError,
    office_display_name,
    status_label,
    status_line,
    whatsapp_parameter,
)

CATALOG = TemplateCatalog.load_packaged()
EXPECTED = {
    "complaint_filed",
    "case_assigned",
    "officer_response",
    "case_resolved",
    "case_closed",
    "status_reply",
    "follow_up_received",
    "case_reopened",
    "rating_received",
    "welcome",
    "unsupported_message",
    "status_overview",
    "status_unknown_ticket",
    "ask_location",
    "ask_regency",
    "ask_category",
    "office_case_assigned",
    "office_case_escalated",
    "office_sla_breached",
    "office_ping_pong",
    "office_follow_up",
    "office_case_reopened",
    "office_delivery_failed",
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
        if "ticket_number" in template.variables:
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


# -- optional variables ---------------------------------------------------------------------


OPTIONAL = """
audience = "office"
variables = ["ticket_number", "due"]
optional_variables = ["office_code"]
[sample]
ticket_number = "ADU-1"
due = "2026-03-27T16:59:59+00:00"
office_code = "KANTAH.73.71"
[id]
webhook = "Tiket {{ ticket_number }}{% if due %}, batas {{ due | waktu(office_code) }}{% endif %}."
[en]
webhook = "Ticket {{ ticket_number }}{% if due %}, due {{ due | waktu(office_code) }}{% endif %}."
"""


def test_optional_variables_may_be_left_out(tmp_path: Path) -> None:
    template = load(tmp_path, OPTIONAL).get("t")
    assert template.missing({"ticket_number", "due"}) == set()
    assert template.missing({"ticket_number"}) == {"due"}
    assert template.optional == {"office_code"}
    assert "office_code" in template.variables
    body = template.render("id", "OFFICE_WEBHOOK", {"ticket_number": "X", "due": ""}).body
    assert body == "Tiket X."


def test_a_variable_cannot_be_required_and_optional(tmp_path: Path) -> None:
    with pytest.raises(TemplateLoadError, match="both required and optional"):
        load(tmp_path, OPTIONAL.replace('["office_code"]', '["office_code", "due"]'))


# -- times in the office's zone ---------------------------------------------------------------


def test_times_are_shown_in_the_zone_of_the_office(tmp_path: Path) -> None:
    template = load(tmp_path, OPTIONAL).get("t")
    due = "2026-03-27T16:59:59+00:00"
    cases = {
        "KANTAH.32.73": ("27 Maret 2026 pukul 23.59 WIB", "27 March 2026, 23:59 WIB"),
        "KANTAH.73.71": ("28 Maret 2026 pukul 00.59 WITA", "28 March 2026, 00:59 WITA"),
        "KANWIL.91": ("28 Maret 2026 pukul 01.59 WIT", "28 March 2026, 01:59 WIT"),
        "PUSAT.IP3": ("27 Maret 2026 pukul 23.59 WIB", "27 March 2026, 23:59 WIB"),
    }
    for office, (indonesian, english) in cases.items():
        values = {"ticket_number": "X", "due": due, "office_code": office}
        assert (
            template.render("id", "OFFICE_WEBHOOK", values).body == f"Tiket X, batas {indonesian}."
        )
        assert template.render("en", "OFFICE_WEBHOOK", values).body == f"Ticket X, due {english}."


def test_without_an_office_the_zone_comes_from_the_offset_else_wib(tmp_path: Path) -> None:
    template = load(tmp_path, OPTIONAL).get("t")

    def body(due: str) -> str:
        return template.render("id", "OFFICE_WEBHOOK", {"ticket_number": "X", "due": due}).body

    assert body("2026-03-28T00:59:59+08:00") == "Tiket X, batas 28 Maret 2026 pukul 00.59 WITA."
    assert body("2026-03-27T16:59:59+00:00") == "Tiket X, batas 27 Maret 2026 pukul 23.59 WIB."
    assert body("2026-03-27T16:59:59Z") == "Tiket X, batas 27 Maret 2026 pukul 23.59 WIB."


@pytest.mark.parametrize(
    ("due", "problem"),
    [
        ("27/03/2026 17:00", "is not an ISO-8601 time"),
        ("besok", "is not an ISO-8601 time"),
        ("2026-03-27T17:00:00", "has no UTC offset"),
    ],
)
def test_an_unparsable_sample_time_fails_at_load(tmp_path: Path, due: str, problem: str) -> None:
    with pytest.raises(TemplateLoadError, match=f"does not render with the sample: .*{problem}"):
        load(tmp_path, OPTIONAL.replace("2026-03-27T16:59:59+00:00", due))


def test_an_office_code_without_a_zone_in_the_sample_fails_at_load(tmp_path: Path) -> None:
    with pytest.raises(TemplateLoadError, match="no known time zone"):
        load(tmp_path, OPTIONAL.replace('"KANTAH.73.71"', '"KANTAH.99.01"'))


def test_an_unparsable_time_at_send_time_is_shown_as_it_is(tmp_path: Path) -> None:
    template = load(tmp_path, OPTIONAL).get("t")
    values = {"ticket_number": "X", "due": "besok", "office_code": "KANTAH.99.01"}
    assert template.render("id", "OFFICE_WEBHOOK", values).body == "Tiket X, batas besok."
    naive = {"ticket_number": "X", "due": "2026-03-27T16:59:59", "office_code": "NOPE"}
    assert (
        template.render("id", "OFFICE_WEBHOOK", naive).body
        == "Tiket X, batas 27 Maret 2026 pukul 23.59 WIB."
    )


def test_a_preview_with_an_unparsable_time_is_refused() -> None:
    with pytest.raises(ValidationError, match="not an ISO-8601 time"):
        CATALOG.preview("office_case_assigned", "id", "", {"accept_due": "besok"})


def test_the_packaged_times_use_the_office_zone() -> None:
    template = CATALOG.get("office_case_assigned")
    values = {
        **template.sample,
        "accept_due": "2026-03-27T16:59:59+00:00",
        "office_code": "KANTAH.73.71",
        "office_name": "Kantor Pertanahan Kota Makassar",
    }
    body = template.render("id", "OFFICE_WEBHOOK", values).body
    assert "paling lambat 28 Maret 2026 pukul 00.59 WITA." in body
    resolved = CATALOG.get("case_resolved")
    without = {k: v for k, v in resolved.sample.items() if k not in resolved.optional}
    assert resolved.missing(without) == set()
    assert "ditutup pada" not in resolved.render("id", "WHATSAPP", without).body
    assert (
        "ditutup pada 10 April 2026 pukul 23.59 WIB"
        in resolved.render("id", "WHATSAPP", resolved.sample).body
    )


def test_every_template_renders_with_every_value_empty() -> None:
    for template in CATALOG.templates.values():
        empty = dict.fromkeys(template.variables, "")
        for language in LANGUAGES:
            for channel in channels_of(template.audience):
                rendered = template.render(language, channel, empty)
                assert rendered.body
                assert "{{" not in rendered.body


# -- statuses and office names ----------------------------------------------------------------


def test_status_lines_for_the_overview() -> None:
    office = "Kantor Pertanahan Kota Bandung"
    assert (
        status_line("ADU-2026-7KQ9M2", "IN_PROGRESS", office)
        == "ADU-2026-7KQ9M2: sedang ditangani Kantor Pertanahan Kota Bandung"
    )
    assert (
        status_line("ADU-2026-7KQ9M2", "IN_PROGRESS", office, "en")
        == "ADU-2026-7KQ9M2: being handled by Kantor Pertanahan Kota Bandung"
    )
    assert status_line("ADU-2026-7KQ9M2", "ASSIGNED", "", "id") == (
        "ADU-2026-7KQ9M2: diteruskan ke kantor yang berwenang"
    )
    assert status_label("SOMETHING_NEW", office) == "sedang diproses"
    assert (
        status_label("ASSIGNED", "KANTAH.32.73") == "diteruskan ke Kantor Pertanahan Kota Bandung"
    )


def test_an_unknown_status_never_shows_as_a_code() -> None:
    template = CATALOG.get("status_reply")
    body = template.render("id", "WHATSAPP", {**template.sample, "status": "ON_HOLD"}).body
    assert "ON_HOLD" not in body
    assert "sedang diproses" in body
    with pytest.raises(ValidationError, match="not a complaint status"):
        CATALOG.preview("status_reply", "id", "", {"status": "ON_HOLD"})


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("KANTAH.73.71", "Kantor Pertanahan Kota Makassar"),
        ("KANWIL.32", "Kantor Wilayah BPN Provinsi Jawa Barat"),
        ("PUSAT.IP3", "Kementerian ATR/BPN"),
        ("KANTAH.99.99", "Kantor Pertanahan"),
    ],
)
def test_an_office_code_given_as_a_name_is_shown_as_a_name(code: str, name: str) -> None:
    assert office_display_name(code) == name
    template = CATALOG.get("case_assigned")
    body = template.render("id", "WHATSAPP", {**template.sample, "office_name": code}).body
    assert code not in body
    assert name in body


# -- WhatsApp -------------------------------------------------------------------------------


def test_whatsapp_parameters_are_cleaned_for_approved_templates() -> None:
    template = CATALOG.get("officer_response")
    answer = (
        "Terima kasih atas laporan Bapak/Ibu.\n\n"
        "Mohon datang ke loket 3\tmembawa:\n"
        "1. fotokopi sertipikat,\n"
        "2. KTP asli.      Terima kasih.  \n"
    )
    values = template.whatsapp_parameter_values(
        {
            **template.sample,
            "response_text": answer,
            "office_name": "  Kantor Pertanahan\nKota Bandung",
        }
    )
    assert values == [
        "ADU-2026-7KQ9M2",
        "Kantor Pertanahan Kota Bandung",
        "Terima kasih atas laporan Bapak/Ibu. Mohon datang ke loket 3 membawa: "
        "1. fotokopi sertipikat, 2. KTP asli. Terima kasih.",
    ]
    for value in values:
        assert "\n" not in value
        assert "\t" not in value
        assert "     " not in value


def test_whatsapp_parameters_are_at_most_1024_characters_and_never_empty() -> None:
    assert len(whatsapp_parameter("kata " * 500)) == 1024
    assert whatsapp_parameter("kata " * 500).endswith("…")
    assert whatsapp_parameter(" \n\t ") == "-"
    template = CATALOG.get("officer_response")
    values = template.whatsapp_parameter_values({"ticket_number": "ADU-2026-7KQ9M2"})
    assert values == ["ADU-2026-7KQ9M2", "-", "-"]


def test_whatsapp_parameters_show_a_status_in_words_and_an_office_by_name() -> None:
    status = CATALOG.get("status_reply")
    assert status.whatsapp_parameter_values(status.sample) == [
        "ADU-2026-7KQ9M2",
        "sedang ditangani",
    ]
    assert status.whatsapp_parameter_values(status.sample, "en")[1] == "being handled"
    assigned = CATALOG.get("case_assigned")
    assert assigned.whatsapp_parameter_values(
        {**assigned.sample, "office_name": "KANTAH.73.71"}
    ) == [
        "ADU-2026-7KQ9M2",
        "Kantor Pertanahan Kota Makassar",
    ]


@pytest.mark.parametrize("name", ["ask_location", "ask_regency", "ask_category"])
def test_the_questions_are_whatsapp_lists(name: str) -> None:
    template = CATALOG.get(name)
    assert template.is_list
    for language in LANGUAGES:
        rendered = template.render(language, "WHATSAPP", template.sample)
        assert rendered.is_list
        assert 0 < len(rendered.list_button) <= 20
        assert 0 < len(rendered.list_title) <= 24
        assert len(rendered.body) <= 1024
        email = template.render(language, "EMAIL", template.sample)
        assert not email.is_list
    assert not CATALOG.get("complaint_filed").is_list


LIST = """
audience = "reporter"
variables = ["ticket_number"]
[sample]
ticket_number = "ADU-1"
[id]
whatsapp = "Pilih provinsi untuk {{ ticket_number }}."
list_button = "Pilih provinsi"
list_title = "Provinsi"
email_subject = "Tiket {{ ticket_number }}"
email_body = "Tiket {{ ticket_number }}"
[en]
whatsapp = "Choose the province for {{ ticket_number }}."
list_button = "Choose province"
list_title = "Province"
email_subject = "Ticket {{ ticket_number }}"
email_body = "Ticket {{ ticket_number }}"
"""


def test_a_list_template_loads_and_its_parts_count_in_the_version(tmp_path: Path) -> None:
    template = load(tmp_path, LIST).get("t")
    rendered = template.render("id", "WHATSAPP", template.sample)
    assert (rendered.list_button, rendered.list_title) == ("Pilih provinsi", "Provinsi")
    changed = load(tmp_path, LIST.replace('"Pilih provinsi"', '"Pilih"')).get("t")
    assert changed.version("id", "WHATSAPP") != template.version("id", "WHATSAPP")
    assert changed.version("id", "EMAIL") == template.version("id", "EMAIL")


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ('"Pilih provinsi"', '"Pilih provinsi letak tanah"', "list_button is longer than 20"),
        ('"Provinsi"', '"Provinsi tempat tanah berada"', "list_title is longer than 24"),
        ('list_button = "Pilih provinsi"\n', "", "list_title but no list_button"),
        ('list_title = "Province"\n', "", "the languages have different parts"),
        ('list_title = "Provinsi"\n', 'list_tittle = "Provinsi"\n', "unknown part"),
        (
            'whatsapp = "Pilih provinsi untuk {{ ticket_number }}."',
            'whatsapp = "' + "Pilih provinsi. " * 70 + '"',
            "longer than 1024",
        ),
    ],
)
def test_list_parts_are_checked_at_load(tmp_path: Path, old: str, new: str, problem: str) -> None:
    assert old in LIST
    with pytest.raises(TemplateLoadError, match=problem):
        load(tmp_path, LIST.replace(old, new, 1))


def test_an_office_template_has_no_list_parts(tmp_path: Path) -> None:
    with pytest.raises(TemplateLoadError, match="unknown part"):
        load(tmp_path, GOOD.replace('webhook = "Tiket', 'list_button = "Pilih"\nwebhook = "Tiket'))


def test_every_packaged_template_has_a_label_in_both_languages() -> None:
    for template in CATALOG.templates.values():
        assert set(template.labels) == set(LANGUAGES), template.name
        for language in LANGUAGES:
            label = template.label(language)
            assert label
            assert label == label.strip()
            assert not any(bracket in label for bracket in "()[]")
    assert CATALOG.get("officer_response").label("id") == "tanggapan kantor atas pengaduan"
    assert load_label_fallback() == "t"


def load_label_fallback() -> str:
    return TemplateCatalog.from_sources({"t.toml": GOOD}).get("t").label("en")


@pytest.mark.parametrize("rating", ["1", "2"])
def test_a_low_rating_is_told_how_to_reopen(rating: str) -> None:
    template = CATALOG.get("rating_received")
    body = template.render("id", "WHATSAPP", {**template.sample, "rating": rating}).body
    assert f"{rating} dari 5" in body
    assert "buka kembali" in body
    high = template.render("id", "WHATSAPP", {**template.sample, "rating": "5"}).body
    assert "buka kembali" not in high


def test_an_empty_overview_says_there_is_no_open_complaint() -> None:
    template = CATALOG.get("status_overview")
    body = template.render("id", "WHATSAPP", {**template.sample, "complaint_lines": ""}).body
    assert "Tidak ada pengaduan aktif dari nomor ini." in body
    english = template.render("en", "WHATSAPP", {**template.sample, "complaint_lines": ""}).body
    assert "There are no open complaints from this number." in english
