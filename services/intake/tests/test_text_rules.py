"""The text rules (aduan_intake.textrules): figures over the hand-written table
`data/text-messages.yaml` (printed with `pytest -s`, failing below the table's thresholds), load
validation, and the tricky cases one by one."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pytest
import yaml

from aduan.reference.categories import Category
from aduan_intake.textrules import (
    CategoryMatch,
    PlaceAmbiguity,
    PlaceMatch,
    TextRules,
    TextRulesError,
)

TABLE = Path(__file__).parent / "data" / "text-messages.yaml"
CATEGORIES = [c.value for c in Category if c is not Category.UNCLASSIFIED]


@pytest.fixture(scope="module")
def rules() -> TextRules:
    return TextRules.load_packaged()


def _table() -> dict[str, object]:
    loaded = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


# --- the figures ---------------------------------------------------------------------------------


@dataclass
class Ratio:
    hits: int = 0
    total: int = 0

    @property
    def value(self) -> float:
        # Nothing to measure counts as perfect; the paired figure shows whether anything was.
        return self.hits / self.total if self.total else 1.0

    def __str__(self) -> str:
        return f"{self.value:.3f} ({self.hits}/{self.total})"


@dataclass
class Figures:
    messages: int
    category_precision: dict[str, Ratio]
    category_recall: dict[str, Ratio]
    overall_precision: Ratio
    overall_recall: Ratio
    place_precision: dict[str, Ratio]  # "regency", "province", "ambiguity"
    place_recall: dict[str, Ratio]


def _place_kind(place: str | None) -> str | None:
    if place is None:
        return None
    if "|" in place:
        return "ambiguity"
    return "regency" if "." in place else "province"


def _found_place(found: PlaceMatch | PlaceAmbiguity | None) -> str | None:
    if found is None:
        return None
    if isinstance(found, PlaceMatch):
        return found.regency_code or found.province_code
    return "|".join(found.candidates)


def measure(rules: TextRules, messages: list[dict[str, str]]) -> Figures:
    figures = Figures(
        len(messages),
        {c: Ratio() for c in CATEGORIES},
        {c: Ratio() for c in CATEGORIES},
        Ratio(),
        Ratio(),
        {k: Ratio() for k in ("regency", "province", "ambiguity")},
        {k: Ratio() for k in ("regency", "province", "ambiguity")},
    )
    for message in messages:
        text = message["text"]
        expected = message["category"]
        match = rules.classify(text)
        got = match.category if match else Category.UNCLASSIFIED.value
        if got != Category.UNCLASSIFIED.value:
            figures.category_precision[got].total += 1
            figures.category_precision[got].hits += got == expected
            figures.overall_precision.total += 1
            figures.overall_precision.hits += got == expected
        if expected != Category.UNCLASSIFIED.value:
            figures.category_recall[expected].total += 1
            figures.category_recall[expected].hits += got == expected
            figures.overall_recall.total += 1
            figures.overall_recall.hits += got == expected
        want_place = message.get("place")
        if want_place is not None and "|" in want_place:
            want_place = "|".join(sorted(want_place.split("|")))
        got_place = _found_place(rules.locate(text))
        got_kind, want_kind = _place_kind(got_place), _place_kind(want_place)
        if got_kind is not None:
            figures.place_precision[got_kind].total += 1
            figures.place_precision[got_kind].hits += got_place == want_place
        if want_kind is not None:
            figures.place_recall[want_kind].total += 1
            figures.place_recall[want_kind].hits += got_place == want_place
    return figures


def _flat(figures: Figures) -> dict[str, float]:
    """The figures under the names of the table's thresholds."""
    flat = {
        "category_precision": min(r.value for r in figures.category_precision.values()),
        "category_recall": min(r.value for r in figures.category_recall.values()),
        "overall_category_precision": figures.overall_precision.value,
        "overall_category_recall": figures.overall_recall.value,
    }
    for kind in ("regency", "province", "ambiguity"):
        flat[f"{kind}_precision"] = figures.place_precision[kind].value
        flat[f"{kind}_recall"] = figures.place_recall[kind].value
    return flat


def _report(name: str, figures: Figures) -> Iterator[str]:
    yield f"\n{name}: {figures.messages} messages"
    yield f"  {'category':<22} {'precision':>16} {'recall':>16}"
    for category in CATEGORIES:
        yield (
            f"  {category:<22} {figures.category_precision[category]!s:>16}"
            f" {figures.category_recall[category]!s:>16}"
        )
    yield (
        f"  {'(all categories)':<22} {figures.overall_precision!s:>16}"
        f" {figures.overall_recall!s:>16}"
    )
    yield f"  {'place':<22} {'precision':>16} {'recall':>16}"
    for kind in ("regency", "province", "ambiguity"):
        yield (
            f"  {kind:<22} {figures.place_precision[kind]!s:>16} {figures.place_recall[kind]!s:>16}"
        )


def test_the_figures_over_the_table_stay_at_or_above_the_thresholds(rules: TextRules) -> None:
    table = _table()
    thresholds = table["thresholds"]
    assert isinstance(thresholds, dict)
    development = table["development"]
    holdout = table.get("holdout") or []
    assert isinstance(development, list)
    assert isinstance(holdout, list)
    everything = measure(rules, development + holdout)
    for name, part in (("development", development), ("holdout", holdout)):
        if part:
            print("\n".join(_report(name, measure(rules, part))))
    print("\n".join(_report("development + holdout (the thresholds apply)", everything)))
    flat = _flat(everything)
    assert set(thresholds) == set(flat), "the table's thresholds name other figures"
    low = {k: (round(flat[k], 4), v) for k, v in thresholds.items() if flat[k] < v}
    assert not low, f"figures below their thresholds (measured, threshold): {low}"


def test_the_table_is_well_formed() -> None:
    table = _table()
    assert set(table) == {"thresholds", "development", "holdout"}
    for part in ("development", "holdout"):
        messages = table[part] or []
        assert isinstance(messages, list)
        for message in messages:
            assert set(message) <= {"text", "place", "category"}, message
            assert message["category"] in {c.value for c in Category}, message


# --- places --------------------------------------------------------------------------------------


def test_a_city_and_the_regency_of_the_same_name(rules: TextRules) -> None:
    assert rules.locate("sertifikat tanah sy di kota bandung blm jadi") == PlaceMatch(
        "32", "32.73", "regency:32.73", "kota bandung"
    )
    for text in ("tanah sy di Kab. Bandung", "Kabupaten Bandung", "kab bandung, ukur ulang"):
        found = rules.locate(text)
        assert isinstance(found, PlaceMatch), text
        assert found.regency_code == "32.04", text
    found = rules.locate("tanah sy di bandung diserobot")
    assert found == PlaceAmbiguity(("32.04", "32.73"), "32", "bandung")
    assert rules.locate("jayapura kota, pelayanan lama") == PlaceMatch(
        "91", "91.71", "regency:91.71", "jayapura kota"
    )
    for name, kabupaten, kota in (
        ("bogor", "32.01", "32.71"),
        ("bekasi", "32.16", "32.75"),
        ("malang", "35.07", "35.73"),
        ("semarang", "33.22", "33.74"),
        ("tangerang", "36.03", "36.71"),
        ("kupang", "53.01", "53.71"),
        ("sorong", "96.01", "96.71"),
    ):
        assert rules.locate(f"di {name} ada sengketa") == PlaceAmbiguity(
            (kabupaten, kota), kabupaten[:2], name
        )
        assert _found_place(rules.locate(f"kab. {name}, sengketa")) == kabupaten
        assert _found_place(rules.locate(f"kota {name}, sengketa")) == kota


def test_evidence_is_the_text_as_written(rules: TextRules) -> None:
    found = rules.locate("Tanah saya di KAB. BANDUNG, Jawa Barat")
    assert found == PlaceMatch("32", "32.04", "regency:32.04", "KAB. BANDUNG")


def test_informal_names(rules: TextRules) -> None:
    assert rules.locate("ada calo di kantah jaksel") == PlaceMatch(
        "31", "31.74", "alias:jaksel", "jaksel"
    )
    assert _found_place(rules.locate("JAKARTA SELATAN. sertifikat ditahan")) == "31.74"
    assert _found_place(rules.locate("penggusuran di jakpus")) == "31.71"
    assert _found_place(rules.locate("makasar, sertifikat tumpang tindih")) == "73.71"
    assert _found_place(rules.locate("kantah kota yogya lama")) == "34.71"
    assert _found_place(rules.locate("tanah sy di gunung kidul")) == "34.03"
    assert _found_place(rules.locate("tanah sy di gunungkidul")) == "34.03"
    assert _found_place(rules.locate("kab. tasik, ptsl dipungut")) == "32.06"
    assert _found_place(rules.locate("tasik, sertifikat blm jadi")) == "32.06|32.78"


def test_provinces(rules: TextRules) -> None:
    assert rules.locate("sertifikat sy di jawa barat belum di validasi") == PlaceMatch(
        "32", "", "province:32", "jawa barat"
    )
    assert rules.locate("cek sertifikat di jakarta bisa lewat apa") == PlaceMatch(
        "31", "", "alias:jakarta", "jakarta"
    )
    assert _found_place(rules.locate("jabar, mafia tanah")) == "32"
    # A province whose capital city has its name: bare, the province.
    assert _found_place(rules.locate("gorontalo, sertifikat blm jadi")) == "75"
    assert _found_place(rules.locate("kota gorontalo, calo")) == "75.71"
    assert _found_place(rules.locate("tanah kami di jambi kena tol")) == "15"
    # A regency named with its province is the regency.
    assert _found_place(rules.locate("Kab. Bandung, Jawa Barat")) == "32.04"
    assert _found_place(rules.locate("sy warga aceh, tanah sy di aceh barat daya")) == "11.12"


@pytest.mark.parametrize(
    "text",
    [
        "sy beli batu bata buat bangun rumah",
        "ada batu bara ilegal ditambang di lahan kami",
        "nasib malang menimpa keluarga kami",
        "batang pohon tumbang dari tanah tetangga",
        "kaur desa minta uang 1jt",
        "tanah datar di belakang rumah sy",
        "aku karo bojoku wis ngurus sertifikat",
        "sy di buru buru petugas",
        "tepung pati dan agam",
        "halo",
        "kota mana yg paling cepat urus sertifikat?",
    ],
)
def test_everyday_words_are_no_place_without_a_cue(rules: TextRules, text: str) -> None:
    assert rules.locate(text) is None


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("kota batu, mau tanya syarat", "35.79"),
        ("petugas bpn kab pati sewenang2", "33.18"),
        ("petugas kantah kab agam kasar", "13.06"),
        ("di kaur ada pengukuran ulang", "17.04"),
        ("di kab buru tanah warga dipakai", "81.04"),
        ("lebak: sawah kami masuk kawasan hutan", "36.02"),
        ("BPN Kab Siak tdk menanggapi", "14.08"),
        ("sy di alor, mau tanya", "53.05"),
        ("tanah sy di banjar dinas desa kami, kab tabanan, dipatok", "51.02"),
    ],
)
def test_everyday_words_name_a_place_after_a_cue(rules: TextRules, text: str, place: str) -> None:
    assert _found_place(rules.locate(text)) == place


@pytest.mark.parametrize(
    ("text", "place"),
    [
        # the land's location outranks an office, where one lives, or a bare mention
        ("bpn jakarta timur, tanah sy di bekasi, mana yg berwenang?", "32.16|32.75"),
        ("sy tinggal di jakarta tapi tanah sy di kab bogor", "32.01"),
        ("tanah saya di sumedang dan rumah saya di bandung", "32.11"),
        ("proyek tol semarang demak, tanah kami di demak", "33.21"),
        ("sy dari karo tp skrg tinggal di medan, sertifikat tanah sy di kab karo", "12.06"),
        ("tinggal di tangerang selatan, tanah di kab lebak", "36.02"),
        # the same weight: ask among them
        ("satu di kab garut satu lagi di kab tasikmalaya", "32.05|32.06"),
        ("jln tol medan-binjai lewat tanah kakek sy", "12.71|12.75"),
        # an ambiguous name settled by a later, specific one
        ("tanah sy di bandung, kantah kota bandung lama", "32.73"),
        # a village or a street of that name is not the regency
        ("desa karanganyar kec. kebumen, tanah sy diserobot", "33.05"),
    ],
)
def test_two_places_in_one_message(rules: TextRules, text: str, place: str) -> None:
    assert _found_place(rules.locate(text)) == place


def test_an_ambiguity_across_provinces_has_no_province(rules: TextRules) -> None:
    found = rules.locate("di banjar ada calo")
    assert found == PlaceAmbiguity(("32.79", "63.03"), "", "banjar")
    assert _found_place(rules.locate("di banjar, kalsel, ada calo")) == "63.03"


def test_no_place(rules: TextRules) -> None:
    assert rules.locate("") is None
    assert rules.locate("min sertifikat sy udh 1 thn blm jadi") is None


# --- categories ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "category", "rule_id"),
    [
        ("min sertifikat tanah sy di kota bandung blm jadi2", "LAND_SERVICE", "service"),
        ("ada pungli di kantah kab gowa, diminta uang 5jt", "ILLEGAL_LEVY", "levy.named"),
        ("ada pungli waktu urus balik nama, diminta 5 juta", "ILLEGAL_LEVY", "levy.named"),
        ("petugas ukur minta uang 2 jt biar cepat", "ILLEGAL_LEVY", "levy.asked"),
        ("petugas bpn sangat arogan", "ABUSE_OF_AUTHORITY", "abuse.conduct"),
        ("tanah sy tumpang tindih dgn sertifikat org lain", "LAND_DISPUTE", "dispute"),
        ("kebun warga masuk HGU sawit tanpa ganti rugi", "LAND_DISPUTE", "dispute.company"),
        ("tanah sy kena proyek jalan tol", "LAND_ACQUISITION", "acquisition"),
        ("mohon info rtrw desa kami", "SPATIAL_PLANNING", "spatial"),
        ("bagaimana cara balik nama sertifikat?", "INFORMATION_REQUEST", "info.question"),
        ("ini bener nomor pengaduan atr bpn?", "INFORMATION_REQUEST", "info.question-mark"),
        ("website bpn ga bisa dibuka", "OTHER", "other.facilities"),
    ],
)
def test_categories_and_their_precedence(
    rules: TextRules, text: str, category: str, rule_id: str
) -> None:
    found = rules.classify(text)
    assert found is not None, text
    assert (found.category, found.rule_id) == (category, rule_id), found


def test_category_evidence_is_the_text_as_written(rules: TextRules) -> None:
    assert rules.classify("Ada PUNGLI di kantah!") == CategoryMatch(
        "ILLEGAL_LEVY", "levy.named", "PUNGLI"
    )
    assert rules.classify("Sertipikat saya belum jadi") == CategoryMatch(
        "LAND_SERVICE", "service", "Sertipikat"
    )


@pytest.mark.parametrize("text", ["halo", "selamat pagi min", "tolong dibantu min", "ok", ""])
def test_no_category(rules: TextRules, text: str) -> None:
    assert rules.classify(text) is None


# --- loading -------------------------------------------------------------------------------------

VALID = """
version: "t1"
rules:
  - id: levy
    category: ILLEGAL_LEVY
    precedence: 100
    phrases: [pungli]
    patterns: ['minta uang']
places:
  aliases:
    jaksel: ["31.74"]
  denylist: [batu]
  blocked_phrases: [batu bata]
  not_place_before: [jl]
  cues:
    kabupaten: [kab]
    kota: [kota]
    province: [provinsi]
    office: [kantah]
    location: [di]
    land: [tanah]
    residence: [tinggal]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_file_loads_with_its_version_and_digest(tmp_path: Path) -> None:
    import hashlib

    path = _write(tmp_path, VALID)
    rules = TextRules.load_file(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
    assert rules.version == f"t1+{digest}"
    assert _found_place(rules.locate("kantah jaksel")) == "31.74"
    assert rules.classify("ada pungli") == CategoryMatch("ILLEGAL_LEVY", "levy", "pungli")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda t: "version: [unclosed", "not valid YAML"),
        (lambda t: "- a list\n- not a mapping\n", "not a YAML mapping"),
        (lambda t: t.replace('version: "t1"', ""), "missing version"),
        (lambda t: t.split("rules:")[0] + "places: {}\n", "missing rules"),
        (lambda t: t + "extra: 1\n", "unknown key(s) in the file: extra"),
        (lambda t: t.replace("precedence: 100", "precedence: 100\n    weight: 2"), "weight"),
        (lambda t: t.replace("ILLEGAL_LEVY", "BRIBERY"), "unknown category 'BRIBERY'"),
        (lambda t: t.replace("ILLEGAL_LEVY", "UNCLASSIFIED"), "unknown category"),
        (lambda t: t.replace("'minta uang'", "'minta (uang'"), "invalid regex"),
        (lambda t: t.replace('["31.74"]', '["31.99"]'), "unknown area code '31.99'"),
        (lambda t: t.replace("precedence: 100", "precedence: high"), "precedence"),
        (lambda t: t.replace("denylist: [batu]", "denylist: [atlantis]"), "atlantis"),
        (lambda t: t.replace("    residence: [tinggal]\n", ""), "residence"),
        (
            lambda t: t.replace(
                "places:",
                "  - id: levy\n    category: OTHER\n    precedence: 1\n    phrases: [x]\nplaces:",
            ),
            "duplicate rule id 'levy'",
        ),
    ],
)
def test_a_broken_file_is_refused_naming_the_file_and_the_problem(
    tmp_path: Path, change: object, problem: str
) -> None:
    assert callable(change)
    path = _write(tmp_path, change(VALID))
    with pytest.raises(TextRulesError) as raised:
        TextRules.load_file(path)
    assert str(path) in str(raised.value)
    assert problem in str(raised.value)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TextRulesError, match=r"nothing\.yaml"):
        TextRules.load_file(tmp_path / "nothing.yaml")


def test_the_rules_ship_as_package_data() -> None:
    packaged = resources.files("aduan_intake").joinpath("data", "text-rules.yaml")
    assert packaged.is_file()
    version = TextRules.load_packaged().version
    assert version.split("+")[0] == str(yaml.safe_load(packaged.read_text())["version"])
