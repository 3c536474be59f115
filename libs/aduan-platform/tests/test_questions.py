"""The question lists: every choice reachable page by page, within WhatsApp's limits, and every
reply id read back to the choice it was built for."""

from __future__ import annotations

import pytest

from aduan.reference.areas import area_registry
from aduan.reference.questions import (
    CATEGORY_LABELS,
    MAX_DESCRIPTION,
    MAX_ROWS,
    MAX_TITLE,
    Question,
    choices,
    parse_reply,
)

TICKET = "ADU-2026-7KQ9M2"


def _walk(question: Question, **kwargs: object) -> list[str]:
    """Every value reachable by following the "more" rows from page 1."""
    values: list[str] = []
    page = 1
    for _ in range(20):
        rows = choices(TICKET, question, page=page, **kwargs)  # type: ignore[arg-type]
        assert 1 <= len(rows) <= MAX_ROWS
        for row in rows:
            assert len(row.title) <= MAX_TITLE
            assert len(row.description) <= MAX_DESCRIPTION
            assert len(row.id) <= 200
            answer = parse_reply(row.id)
            assert answer is not None
            assert answer.ticket_number == TICKET
            if answer.wants_more:
                page = answer.next_page
            else:
                values.append(answer.value)
        if not parse_reply(rows[-1].id).wants_more:  # type: ignore[union-attr]
            return values
    raise AssertionError("pages never end")


def test_every_province_is_reachable_once() -> None:
    assert sorted(_walk(Question.PROVINCE)) == sorted(area_registry().provinces)


@pytest.mark.parametrize("province", sorted(area_registry().provinces))
def test_every_regency_of_a_province_is_reachable_once(province: str) -> None:
    expected = sorted(r.code for r in area_registry().regencies_of(province))
    assert sorted(_walk(Question.REGENCY, province_code=province)) == expected


def test_candidates_limit_the_regencies() -> None:
    rows = choices(TICKET, Question.REGENCY, province_code="32", candidates=("32.04", "32.73"))
    assert [parse_reply(r.id).value for r in rows] == ["32.04", "32.73"]  # type: ignore[union-attr]
    assert [r.title for r in rows] == ["Kab. Bandung", "Kota Bandung"]


@pytest.mark.parametrize("language", ["id", "en"])
def test_categories_fit_one_list(language: str) -> None:
    rows = choices(TICKET, Question.CATEGORY, language=language)
    assert [parse_reply(r.id).value for r in rows] == list(CATEGORY_LABELS)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "reply_id",
    [
        "aduan:ADU-2026-7KQ9M2:p:99",  # no such province
        "aduan:ADU-2026-7KQ9M2:r:32.99",
        "aduan:ADU-2026-7KQ9M2:c:UNCLASSIFIED",
        "aduan:ADU-2026-7KQ9M2:more:r:2:99",
        "aduan:ADU-2026-7KQ9M2:more:p:0",
        "aduan:adu-2026-7kq9m2:p:32",
        "other:ADU-2026-7KQ9M2:p:32",
        "aduan:ADU-2026-7KQ9M2:p:32:extra",
        "",
    ],
)
def test_foreign_or_unknown_reply_ids_are_not_answers(reply_id: str) -> None:
    assert parse_reply(reply_id) is None


def test_a_regency_answer_names_its_province() -> None:
    answer = parse_reply("aduan:ADU-2026-7KQ9M2:r:73.71")
    assert answer is not None
    assert (answer.value, answer.province_code) == ("73.71", "73")
