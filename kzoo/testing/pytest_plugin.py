"""The pytest side of the conformance kit, registered through the ``pytest11`` entry point.

pytest imports this module in every run of an environment where kzoo is installed, so it imports
nothing heavy: no keras, no tensorflow, not even pytest at module level (``kzoo.testing`` is usable
without pytest). Plugins are loaded only when a test asks for conformance cases.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .checks import (
    IMPORT_CHECK,
    MODEL_CHECKS,
    WEIGHTS_CHECK,
    CheckResult,
    ConformanceError,
    check_models,
    check_plugin_import,
    check_weights,
    plugin_models,
    plugin_weights,
)

MARKER = "kzoo_conformance"
CASE_ARG = "kzoo_case"

# One run of the checks per model (and per plugin for the import check), shared by its test items:
# building, training and saving once is what keeps the kit quick. A plugin's models are checked
# together at its first item, so their round trips share one fresh interpreter.
_results: dict[tuple[str, str], list[CheckResult]] = {}


@dataclass(frozen=True)
class Case:
    """One test item: a check of a model, the import check of a plugin, or the check of weights."""

    plugin: str
    model: str | None
    check: str
    weights: str | None = None
    group: tuple[str, ...] = ()  # the models checked together: their round trips share one fresh process

    @property
    def id(self) -> str:
        return f"{self.weights or self.model or self.plugin}:{self.check}"

    def result(self) -> CheckResult:
        if self.weights is not None:
            key = ("weights", self.weights)
            if key not in _results:
                _results[key] = [check_weights(self.weights)]
        elif self.model is None:
            key = ("plugin", self.plugin)
            if key not in _results:
                _results[key] = [check_plugin_import(self.plugin)]
        else:
            key = ("model", self.model)
            if key not in _results:
                names = [name for name in self.group if ("model", name) not in _results] or [self.model]
                names = names if self.model in names else [self.model]
                for name, results in zip(names, check_models(names)):
                    _results[("model", name)] = results
        return next(r for r in _results[key] if r.check == self.check)

    def run(self) -> None:
        """Pass, fail with a message naming the model and the check, or skip if a prerequisite failed."""
        import pytest

        result = self.result()
        if result.status == "failed":
            pytest.fail(str(result), pytrace=False)  # the message says it all; the kit's traceback does not
        if result.status == "skipped":
            pytest.skip(str(result))


def conformance_cases(plugins: Sequence[str], models: Sequence[str] | None = None) -> list[Case]:
    """The import check of each plugin, then every check of each of its models (or of ``models``),
    then the check of each weights file it registers (unless ``models`` picks some)."""
    cases: list[Case] = []
    found: set[str] = set()
    for plugin in plugins:
        cases.append(Case(plugin, None, IMPORT_CHECK))
        chosen = [model for model in plugin_models(plugin) if models is None or model in models]
        found.update(plugin_models(plugin))
        for model in chosen:
            cases += [Case(plugin, model, check, group=tuple(chosen)) for check in MODEL_CHECKS]
        if models is None:
            cases += [Case(plugin, None, WEIGHTS_CHECK, weights=name) for name in plugin_weights(plugin)]
    missing = sorted(set(models or ()) - found)
    if missing:
        raise ConformanceError(f"kzoo conformance: plugins {list(plugins)} register no model named {missing}; "
                               f"they register {sorted(found)}")
    return cases


def conformance_tests(plugins: str | Sequence[str], models: Sequence[str] | None = None) -> Callable[..., None]:
    """A test function that pytest expands into one test per (model, check) of ``plugins``.

    Assign it to a ``test_`` name in a test module::

        test_conformance = conformance_tests("my_plugin")
    """
    import pytest

    names = (plugins,) if isinstance(plugins, str) else tuple(plugins)

    @pytest.mark.kzoo_conformance(*names, models=models)
    def test_kzoo_conformance(kzoo_case: Case) -> None:
        kzoo_case.run()

    return test_kzoo_conformance


# -- pytest hooks ------------------------------------------------------------------------------
def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(*plugins, models=None): run kzoo's conformance checks on these plugins' models"
    )


def pytest_generate_tests(metafunc) -> None:
    marker = metafunc.definition.get_closest_marker(MARKER)
    if marker is None or CASE_ARG not in metafunc.fixturenames:
        return
    cases = conformance_cases(marker.args, marker.kwargs.get("models"))
    metafunc.parametrize(CASE_ARG, cases, ids=[case.id for case in cases])
