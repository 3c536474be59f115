"""The services' categories and the published contract's are one vocabulary."""

from aduan.reference.categories import Category
from aduan.reference.questions import CATEGORY_LABELS
from aduan.v1 import common_pb2


def test_every_category_is_in_the_contract_under_the_same_name() -> None:
    contract = {
        name.removeprefix("CATEGORY_")
        for name in common_pb2.Category.DESCRIPTOR.values_by_name
        if name != "CATEGORY_UNSPECIFIED"
    }
    assert {c.value for c in Category} == contract


def test_every_category_a_reporter_can_choose_is_a_category() -> None:
    assert set(CATEGORY_LABELS) <= {c.value for c in Category}
