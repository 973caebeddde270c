"""EVENT_VALUE (values.py) at its boundaries, in both engines: the same text or the same null."""

from __future__ import annotations

import json
import random

import pytest
from pyspark.sql import SparkSession
from segment_personalize.rules import MappedEvent, MappingConfig, map_line
from segment_personalize.spark.transform import classify
from segment_personalize.values import event_value, render_value, validate_value_field

from tests.contract_cases import priced
from tests.test_transform import lines_df

PRICED = MappingConfig.from_settings(event_value_field="price")


def _boundary_values() -> list[object]:
    rng = random.Random(18)
    values: list[object] = [0, -0.0, 1, -1, 10**14, 10**15 - 1, 10**15, -(10**15) + 1, 2**53, 2**53 + 1]
    for exponent in range(-25, 25):
        values += [
            10.0**exponent,
            -(10.0**exponent),
            1.5 * 10.0**exponent,
            f"1e{exponent}",
            f"-2.5E{exponent}",
        ]
    values += [1e300, -1e300, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 0.1 + 0.2, 1 / 3]
    # Doubles of up to 15 significant digits, beyond the range too.
    values += [float(f"{rng.uniform(-1, 1) * 10.0 ** rng.randint(-18, 19):.15g}") for _ in range(300)]
    values += [round(rng.uniform(0, 10_000), 2) for _ in range(100)]  # prices
    values += [str(v) for v in values if isinstance(v, float)]
    values += ["999999999999999.9999999999999999994", "999999999999999.9999999999999999995"]
    values += ["0.0000000000000000005", "-0.0000000000000000005", "0.0000000000000000004999", "1e9999"]
    values += ["1e-9999", "1e10000", "00", "-00.000", "1" * 21, "0." + "0" * 40 + "1", True, False, None, "x"]
    return values


def test_both_engines_render_every_boundary_value_alike(spark: SparkSession) -> None:
    values = _boundary_values()
    lines = [priced(v) for v in values]
    spark_values = [row.event_values[0] for row in classify(lines_df(spark, lines), PRICED).collect()]
    python_values = []
    for line in lines:
        result = map_line(line, PRICED)
        assert isinstance(result, MappedEvent)
        assert result.event_values is not None
        python_values.append(result.event_values[0])
    mismatches = [(v, s, p) for v, s, p in zip(values, spark_values, python_values, strict=True) if s != p]
    assert mismatches == []


def test_full_precision_doubles_in_range_render_alike(spark: SparkSession) -> None:
    # Why the range stops at 10^15: above 2^53, JDK 17's Double.toString (Spark's text of a JSON number)
    # often writes a longer decimal than Python's shortest repr (JDK-4511638, fixed in JDK 19). Below
    # 10^15 they agree on 16-17 digit doubles too, so both engines write the same text.
    rng = random.Random(17)
    values = [rng.uniform(-1, 1) * 10.0 ** rng.randint(-3, 15) for _ in range(1000)]
    lines = [priced(v) for v in values]
    spark_values = [row.event_values[0] for row in classify(lines_df(spark, lines), PRICED).collect()]
    python_values = [event_value(v) for v in values]
    assert spark_values == python_values
    # 18 decimal places keep every digit of a double of at least 0.01.
    assert all(float(t or "nan") == v for t, v in zip(python_values, values, strict=True) if abs(v) >= 1e-2)


def test_rendering_is_plain_and_numerically_equal() -> None:
    for value in _boundary_values():
        text = event_value(value)
        if text is None:
            continue
        assert "e" not in text.lower()
        if isinstance(value, float) and abs(value) >= 1e-2:
            # Below 10^15 and at least 0.01, 18 decimal places keep every digit a double has.
            assert float(text) == value


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1.0E7", "10000000"), ("1.0E-5", "0.00001"), ("12.3400", "12.34"), ("-0", "0"), ("1e", None)],
)
def test_render_value(text: str, expected: str | None) -> None:
    assert render_value(text) == expected


def test_validate_value_field() -> None:
    assert validate_value_field(" price ") == "price"
    assert json.dumps(validate_value_field("revenue_usd")) == '"revenue_usd"'
