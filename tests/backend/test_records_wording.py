"""Plain-language wording of lab values and the critical-result rules (pure functions)."""

from __future__ import annotations

import pytest

from backend.ehr.domain import LabResult
from backend.records.wording import Flag, flag, result_line, short_name, standing_text


def value(
    v: float, *, low: float = 3.5, high: float = 5.1, code: str | None = None, **kw
) -> LabResult:
    return LabResult(
        id="o", code=code, name="Potassium", value=v, unit="mmol/L", low=low, high=high, **kw
    )


@pytest.mark.parametrize(
    ("v", "expected"),
    [
        (4.2, "within the usual range"),
        (5.2, "slightly above the usual range"),
        (5.8, "above the usual range"),
        (6.1, "well above the usual range"),
        (3.4, "slightly below the usual range"),
        (2.6, "well below the usual range"),
    ],
)
def test_distance_from_the_range_sets_the_words(v: float, expected: str) -> None:
    result = value(v)
    assert standing_text(result, flag(result)) == expected


def test_the_labs_flag_wins_over_the_numbers() -> None:
    assert flag(value(4.0, interpretation="H")) is Flag.HIGH
    assert flag(value(4.0, interpretation="HH")) is Flag.CRITICAL
    assert flag(value(4.0, interpretation="LL")) is Flag.CRITICAL


def test_a_value_past_the_critical_limit_is_critical_even_unflagged() -> None:
    assert flag(value(6.5, code="2823-3", interpretation="H")) is Flag.CRITICAL
    assert flag(value(6.0, code="2823-3", interpretation="H")) is Flag.HIGH


def test_a_critical_limit_in_another_unit_is_not_compared() -> None:
    other_unit = LabResult(id="o", code="2823-3", name="K", value=6.5, unit="mEq/dL", high=5.1)
    assert flag(other_unit) is Flag.HIGH


def test_text_values_without_a_range() -> None:
    negative = LabResult(
        id="o", code=None, name="Strep A", value_text="Negative", interpretation="N"
    )
    assert flag(negative) is Flag.NORMAL
    assert result_line(negative) == "- Strep A: Negative: within the usual range"
    unknown = LabResult(id="o", code=None, name="Note", value_text="see comment")
    assert flag(unknown) is Flag.UNKNOWN


def test_loinc_long_names_lose_their_brackets() -> None:
    assert short_name("Potassium [Moles/volume] in Serum or Plasma") == (
        "Potassium in Serum or Plasma"
    )
