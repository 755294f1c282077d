"""kzoo's own built-in plugins pass the conformance kit, used exactly as a plugin author uses it."""

from __future__ import annotations

import pytest

from kzoo.testing import MODEL_CHECKS, check_model, conformance_tests

test_builtin_conformance = conformance_tests(["mlp", "two_input", "shared_layers", "weights", "tabular"])


@pytest.mark.parametrize("api", ["functional", "subclass"])
def test_mlp_other_api_styles_conform(api: str) -> None:
    results = check_model("mlp", {"api": api})
    assert [r.check for r in results] == list(MODEL_CHECKS)
    assert all(r.ok for r in results), "\n".join(map(str, results))
    assert {r.check for r in results if r.status == "skipped"} == {"params", "manifest"}


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
@pytest.mark.parametrize("model", ["mlp", "two_input_mlp", "siamese_mlp"])
def test_builtins_conform_in_mixed_precision(model: str, precision: str) -> None:
    results = check_model(model, precision=precision)
    assert [r.check for r in results] == list(MODEL_CHECKS)
    assert all(r.ok for r in results), "\n".join(map(str, results))
