"""Where and what a WhatsApp complaint is about: what intake can tell by itself (text rules, a
shared location), and the next question for the reporter when it cannot. Pure domain: no
transport. The rules themselves are data (textrules.py, pins.py); this module decides what to
record and what to ask.

The order of questions: the province, then the regency or city within it, then the category.
A place already found is not asked again; an ambiguous name (a regency and a city of the same
name) is asked among its candidates only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from aduan.reference.categories import Category
from aduan.reference.questions import Answer, Question
from aduan_intake.domain import (
    CategoryFinding,
    Complaint,
    DetailQuestion,
    DetailRequest,
    DetailSource,
    FilingDetails,
    PlaceFinding,
)
from aduan_intake.pins import RegencyBoundaries
from aduan_intake.textrules import PlaceAmbiguity, PlaceMatch, TextRules

DEFAULT_ANSWER_TIME = timedelta(minutes=30)


@dataclass(frozen=True)
class Learned:
    """What one step learned and what to ask next (None: the details are complete)."""

    place: PlaceFinding | None
    category: CategoryFinding | None
    ask: DetailRequest | None


def next_question(
    province_code: str, regency_code: str, classified: bool, candidates: tuple[str, ...] = ()
) -> DetailRequest | None:
    if not regency_code:
        if candidates:
            return DetailRequest(DetailQuestion.REGENCY, province_code, candidates)
        if province_code:
            return DetailRequest(DetailQuestion.REGENCY, province_code)
        return DetailRequest(DetailQuestion.PROVINCE)
    if not classified:
        return DetailRequest(DetailQuestion.CATEGORY)
    return None


class DetailFinder:
    """Finds a complaint's place and category from what the reporter sent, and reads the
    reporter's answers to the questions."""

    def __init__(
        self,
        text_rules: TextRules,
        boundaries: RegencyBoundaries | None,
        answer_time: timedelta = DEFAULT_ANSWER_TIME,
    ) -> None:
        self.text_rules = text_rules
        self.boundaries = boundaries
        self.answer_time = answer_time

    def due(self, now: datetime) -> datetime:
        return now + self.answer_time

    def from_text(self, text: str, now: datetime) -> FilingDetails:
        """The details of a new complaint written as `text`."""
        place: PlaceFinding | None = None
        candidates: tuple[str, ...] = ()
        version = self.text_rules.version
        match = self.text_rules.locate(text) if text else None
        if isinstance(match, PlaceMatch):
            place = PlaceFinding(
                DetailSource.TEXT_RULE,
                match.rule_id,
                version,
                match.evidence,
                province_code=match.province_code,
                regency_code=match.regency_code,
            )
        elif isinstance(match, PlaceAmbiguity):
            candidates = tuple(match.candidates)
            if match.province_code:
                place = PlaceFinding(
                    DetailSource.TEXT_RULE,
                    "ambiguous:" + "|".join(candidates),
                    version,
                    match.evidence,
                    province_code=match.province_code,
                )
        category: CategoryFinding | None = None
        found = self.text_rules.classify(text) if text else None
        if found is not None:
            category = CategoryFinding(
                DetailSource.TEXT_RULE,
                found.rule_id,
                version,
                found.evidence,
                category=Category(found.category),
            )
        ask = next_question(
            place.province_code if place else "",
            place.regency_code if place else "",
            category is not None,
            candidates,
        )
        return FilingDetails(self.due(now), place, category, ask)

    def _pin_place(self, latitude: float, longitude: float) -> PlaceFinding | None:
        """The regency a shared location lies in, as a finding; None outside every one."""
        if self.boundaries is None:
            return None
        pin = self.boundaries.locate(latitude, longitude)
        if pin is None:
            return None
        return PlaceFinding(
            DetailSource.LOCATION_PIN,
            pin.source,
            self.boundaries.version,
            province_code=pin.province_code,
            regency_code=pin.regency_code,
        )

    def from_pin(self, latitude: float, longitude: float, now: datetime) -> FilingDetails:
        """The details of a new complaint that starts with a shared location."""
        place = self._pin_place(latitude, longitude)
        ask = next_question(
            place.province_code if place else "", place.regency_code if place else "", False
        )
        return FilingDetails(self.due(now), place, None, ask)

    def pin_for(self, complaint: Complaint, latitude: float, longitude: float) -> Learned | None:
        """A location shared later in the conversation locates a complaint that is not located
        yet; None when it does not (outside every boundary, or located already)."""
        place = None if complaint.located else self._pin_place(latitude, longitude)
        if place is None:
            return None
        return Learned(
            place,
            None,
            next_question(place.province_code, place.regency_code, complaint.classified),
        )

    def answer(self, complaint: Complaint, answer: Answer) -> Learned:
        """What the reporter's choice from a list tells, and the question after it."""
        province = complaint.location.province_code
        regency = complaint.location.regency_code
        if answer.wants_more:
            # Only a whole province's regencies, never a few candidates, fill more than a page.
            question = DetailQuestion(answer.question.value)
            return Learned(
                None, None, DetailRequest(question, answer.province_code, (), answer.next_page)
            )
        rule_id = f"question:{answer.question.value.lower()}"
        if answer.question is Question.CATEGORY:
            category = CategoryFinding(
                DetailSource.REPORTER_ANSWER, rule_id, category=Category(answer.value)
            )
            return Learned(None, category, next_question(province, regency, True))
        if answer.question is Question.PROVINCE:
            province, regency = answer.value, ""
        else:
            province, regency = answer.province_code, answer.value
        place = PlaceFinding(
            DetailSource.REPORTER_ANSWER, rule_id, province_code=province, regency_code=regency
        )
        return Learned(place, None, next_question(province, regency, complaint.classified))
