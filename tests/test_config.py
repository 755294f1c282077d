"""Config validation: unknown keys, wrong types, out-of-range values, --set parsing."""

from __future__ import annotations

import pytest

import kzoo
from kzoo.config import format_value, parse_assignments


def test_defaults_are_the_seed() -> None:
    assert kzoo.get("mlp").config() == {
        "input_dim": 4, "hidden_units": (8, 16, 32), "activation": "relu", "num_classes": 10, "api": "sequential",
    }
    assert kzoo.get("two_input_mlp").config()["branch_units"] == ((8, 16), (8, 12, 16))


def test_unknown_key_names_key_and_allowed_keys() -> None:
    with pytest.raises(kzoo.ConfigError, match=r"unknown config key 'hiden_units'.*Did you mean 'hidden_units'") as info:
        kzoo.get("mlp").config(hiden_units=(3,))
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("hidden_units", (0,), r"hidden_units=0 is not allowed; expected integers >= 1"),
        ("num_classes", 1, r"num_classes=1 is not allowed; expected an integer >= 2"),
        ("api", "keras2", r"api=keras2 is not allowed; expected sequential or functional or subclass"),
        ("input_dim", "four", r"input_dim='four' has the wrong type; expected an integer"),
        ("hidden_units", (8, 1.5), r"wrong type; expected a list of integers"),
    ],
)
def test_bad_values_name_key_value_and_allowed(key: str, value: object, message: str) -> None:
    with pytest.raises(kzoo.ConfigError, match=message):
        kzoo.get("mlp").config(**{key: value})


def test_two_input_needs_one_branch_per_input() -> None:
    with pytest.raises(kzoo.ConfigError, match="one tuple of units per input"):
        kzoo.get("two_input_mlp").config(input_dims=(4, 8, 2))


def test_set_strings_are_coerced_to_the_default_type() -> None:
    overrides = parse_assignments(["hidden_units=8,16", "num_classes=3", "activation=tanh", "api=functional"])
    config = kzoo.get("mlp").config(**overrides)
    assert config["hidden_units"] == (8, 16) and config["num_classes"] == 3 and config["activation"] == "tanh"
    nested = kzoo.get("two_input_mlp").config(**parse_assignments(["branch_units=(4,),(5,6)"]))
    assert nested["branch_units"] == ((4,), (5, 6))
    assert kzoo.get("mlp").config(**parse_assignments(["hidden_units=7"]))["hidden_units"] == (7,)


def test_format_value_round_trips_through_parse() -> None:
    for value in [(8, 16), ((8, 16), (8, 12, 16)), 3, "relu", True]:
        assert parse_assignments([f"k={format_value(value)}"])["k"] == value


def test_malformed_assignment() -> None:
    with pytest.raises(kzoo.ConfigError, match="is not key=value"):
        parse_assignments(["num_classes"])
