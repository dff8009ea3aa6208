"""[[segments]] in the configuration: rules parsed when the file is read; a bad one names the rule, the column of
the problem and the known features."""

from __future__ import annotations

from pathlib import Path

import pytest

from sellerreach.errors import ConfigError
from sellerreach.settings import load_settings
from tests.support.config import ACME_EU


def _load(tmp_path: Path, text: str):
    path = tmp_path / "sellerreach.toml"
    path.write_text(ACME_EU + text, encoding="utf-8")
    return load_settings(path, env={})


def test_segments_in_priority_order(tmp_path: Path):
    settings = _load(
        tmp_path,
        '[[segments]]\nname = "at_risk"\nrule = "open_complaint_threads > 0 or has_a_to_z_claim"\n'
        '[[segments]]\nname = "high_value"\nrule = "aov_cents >= 5000 and orders_365d >= 2"\n'
        'description = "repeat buyers who spend"\n',
    )
    assert [s.name for s in settings.segments] == ["at_risk", "high_value"]
    assert settings.segments[1].rule.columns == frozenset({"aov_cents", "orders_365d"})
    assert settings.segments[1].description == "repeat buyers who spend"


def test_the_embedded_demo_has_segments():
    assert [s.name for s in load_settings(env={}).segments] == [
        "at_risk",
        "business",
        "repeat",
        "high_value",
        "new",
    ]


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        (
            'name = "high_value"\nrule = "aov >= 5000"',
            "segments[0].rule (high_value): at column 1: unknown column 'aov'",
        ),
        ('name = "high_value"\nrule = "aov_cents >= \'5000\'"', "segments[0].rule (high_value): at column"),
        ('name = "high_value"\nrule = "aov_cents >="', "segments[0].rule (high_value): at column"),
        (
            'name = "High Value"\nrule = "aov_cents >= 5000"',
            "segments[0].name: is required: lower-case letters",
        ),
        ('name = "x"\nrule = "aov_cents >= 1"\npriority = 3', "segments[0].priority: unknown key 'priority'"),
    ],
)
def test_a_bad_segment_is_named_with_where_and_how(tmp_path: Path, entry: str, says: str):
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, f"[[segments]]\n{entry}\n")
    assert says in str(error.value) and "example:" in str(error.value)


def test_a_duplicate_segment_is_refused(tmp_path: Path):
    text = '[[segments]]\nname = "repeat"\nrule = "orders_365d >= 2"\n' * 2
    with pytest.raises(ConfigError, match=r"segments\[1\].name: duplicate segment 'repeat'"):
        _load(tmp_path, text)


def test_an_unknown_column_error_lists_the_features(tmp_path: Path):
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, '[[segments]]\nname = "vip"\nrule = "lifetime_value >= 100000"\n')
    assert "lifetime_value_cents" in str(error.value)
