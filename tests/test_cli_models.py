"""`kzoo list`, `kzoo info`, `kzoo plugins`, `--version`, and how errors come out."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import kzoo
from kzoo.cli import main


@pytest.fixture
def cli():
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, list(args), prog_name="kzoo")

    return invoke


def test_list_table(cli) -> None:
    result = cli("list")
    assert result.exit_code == 0
    header, *rows = result.output.splitlines()
    assert header.split() == ["NAME", "API", "INPUTS", "PARAMS", "PLUGIN", "DESCRIPTION"]
    by_name = {row.split()[0]: row for row in rows}
    assert set(by_name) == set(kzoo.list_models())
    assert "input_1[4] input_2[8]" in by_name["two_input_mlp"] and "902" in by_name["two_input_mlp"]
    assert "sequential/functional/subclass" in by_name["mlp"] and "1,058" in by_name["mlp"]


def test_list_filters_and_json(cli) -> None:
    result = cli("list", "*mlp*", "--tag", "multi-input", "--exclude", "siamese*", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert [m["name"] for m in data] == ["two_input_mlp"]
    assert data[0]["params"] == 902 and data[0]["plugin"] == "two_input"
    assert [i["shape"] for i in data[0]["inputs"]] == [[4], [8]]


def test_list_with_no_match_says_so(cli) -> None:
    result = cli("list", "zzz*")
    assert result.exit_code == 0 and "no models match" in result.output


def test_info_shows_metadata_and_overrides(cli) -> None:
    result = cli("info", "mlp", "--set", "input_dim=64")
    assert result.exit_code == 0
    assert "input: shape [64]" in result.output and "(default 4)" in result.output
    data = json.loads(cli("info", "two_input_mlp", "--json").output)
    assert data["params"] == 902 and data["config"]["branch_units"] == "(8,16),(8,12,16)"


def test_info_summary_builds_the_model(cli) -> None:
    result = cli("info", "two_input_mlp", "--summary")
    assert result.exit_code == 0
    assert "Total params: 902" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["info", "two_input_mpl"], "kzoo: error: unknown model 'two_input_mpl'. Did you mean two_input_mlp?"),
        (["info", "mlp", "--set", "hidden_units=0"], "kzoo: error: mlp: config hidden_units=0 is not allowed"),
        (["info", "mlp", "--set", "colour=red"], "kzoo: error: mlp: unknown config key 'colour'"),
        (["info", "nowhere/m.keras"], "kzoo: error: no model file at 'nowhere/m.keras'; check the path"),
    ],
)
def test_user_errors_are_one_line_exit_1(cli, args, message) -> None:
    result = cli(*args)
    assert result.exit_code == 1
    assert result.output.strip().startswith(message)
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_usage_errors_exit_2(cli) -> None:
    assert cli("list", "--no-such-flag").exit_code == 2
    assert cli("info").exit_code == 2
    result = cli("info", "m.keras", "--set", "num_classes=3")
    assert result.exit_code == 2 and "a saved file's config is what it was trained with" in result.output


def test_info_on_a_file_keras_wrote_alone_says_so(cli, tmp_path) -> None:
    import keras

    path = tmp_path / "plain.keras"
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]).save(path)
    result = cli("info", str(path))
    assert result.exit_code == 0 and "a Keras file without kzoo's metadata" in result.output


def test_plugins_table_and_json(cli) -> None:
    result = cli("plugins")
    assert result.exit_code == 0
    assert result.output.splitlines()[0].split() == ["PLUGIN", "DISTRIBUTION", "VERSION", "MODELS", "STATUS"]
    data = {p["name"]: p for p in json.loads(cli("plugins", "--json").output)}
    assert data["two_input"]["models"] == ["two_input_mlp"] and data["two_input"]["status"] == "ok"
    rows = {line.split()[0]: line for line in result.output.splitlines()[1:]}
    models = data["applications"]["models"]
    assert f"{', '.join(models[:8])}, ... ({len(models)} in all)" in rows["applications"], "40 names cut to 8"


def test_version(cli) -> None:
    result = cli("--version")
    assert result.exit_code == 0 and result.output.strip() == f"kzoo {kzoo.__version__}"


def test_help_teaches(cli) -> None:
    assert "kzoo list --tag multi-input --json" in cli("list", "--help").output
    assert "KZOO_LOAD_PLUGINS" in cli("plugins", "--help").output
