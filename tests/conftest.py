"""Shared fixtures: a clean plugin environment per test, and throwaway plugins."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import kzoo
from kzoo._zoo import plugins

PLUGIN_ENV_VARS = ("KZOO_LOAD_PLUGINS", "KZOO_DISABLE_PLUGINS", "KZOO_STRICT_PLUGINS", "KZOO_TRACE_PLUGINS",
                   "KZOO_PLUGIN_TIMEOUT", "KZOO_PLUGIN_ABANDON", "KZOO_MAX_ARRAY_BYTES",
                   "KZOO_MAX_PARAMS", "KZOO_MAX_DOWNLOAD_BYTES", "KZOO_DOWNLOAD_TIMEOUT", "KZOO_MAX_MEMORY")
SECOND_FRAMEWORKS = ("torch",)
"""Frameworks no test may import into the suite's TensorFlow process. JAX is not among them:
Keras's own exporters import it beside TensorFlow (jax2tf), as they are meant to."""
_second_framework_reported: list[str] = []


@pytest.fixture(autouse=True)
def clean_plugin_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts from the installed plugins with no kzoo env vars, and leaves no trace."""
    for var in PLUGIN_ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    plugins.reset()
    yield
    plugins.reset()


@pytest.fixture(autouse=True)
def one_framework_per_process() -> Iterator[None]:
    """Fail the test that imports a second framework into this process (issue 35): a CUDA build
    of torch and TensorFlow in one pytest process crashed the suite with a segmentation fault.
    Tests of another backend run it in a fresh interpreter. Reported once, by the test that did it."""
    yield
    active = os.environ.get("KERAS_BACKEND", "tensorflow")
    loaded = [name for name in SECOND_FRAMEWORKS if name != active and name in sys.modules]
    if loaded and not _second_framework_reported:
        _second_framework_reported.extend(loaded)
        pytest.fail(f"this test imported {', '.join(loaded)} into the {active} test process; run other backends "
                    f"in a fresh interpreter (tests/_processes.py)", pytrace=False)


@pytest.fixture
def release_models() -> Iterator[None]:
    """After a test that builds full-size networks: drop Keras's global state and collect, so the
    suite's one process does not pile up the memory of forty ImageNet architectures."""
    yield
    import gc

    import keras

    keras.backend.clear_session()
    gc.collect()


def everyday_models() -> list[str]:
    """Every registered model but the ImageNet architectures: those are built, trained and saved
    in tests/test_applications.py, one per family at its smallest input (at full size, training
    them all in one process would take CI's memory and time)."""
    return [name for name in kzoo.list_models() if "imagenet" not in kzoo.get_spec(name).tags]


def run_kzoo(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the kzoo CLI in a fresh interpreter (for checks that need one: imports, entry points)."""
    return subprocess.run(
        [sys.executable, "-m", "kzoo", *args], capture_output=True, text=True, env=fresh_env(env), cwd=cwd, timeout=300
    )


def fresh_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """This environment without kzoo's plugin settings, TensorFlow's start-up logs silenced, plus ``env``."""
    return {**{k: v for k, v in os.environ.items() if k not in PLUGIN_ENV_VARS}, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}


_COMMANDS_PROBE = """
import json, sys
from click.testing import CliRunner
from kzoo.cli import main
results = []
for args in json.loads(sys.argv[1]):
    result = CliRunner().invoke(main, args)
    sys.stderr.write(result.stderr)
    results.append([result.exit_code, result.stdout])
print(json.dumps(results))
"""


def run_kzoo_commands(*commands: list[str], env: dict[str, str] | None = None) -> dict:
    """Several ``kzoo`` commands, one after another, in one fresh interpreter (one start of Keras):
    ``{"results": [[exit code, stdout], ...], "stderr": everything they wrote to stderr}``."""
    import json

    done = subprocess.run([sys.executable, "-c", _COMMANDS_PROBE, json.dumps([list(map(str, c)) for c in commands])],
                          capture_output=True, text=True, env=fresh_env(env), timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return {"results": json.loads(done.stdout.strip().splitlines()[-1]), "stderr": done.stderr}


def make_builder(name: str, tags: tuple[str, ...] = (), params: int = 0) -> kzoo.ModelBuilder:
    """A metadata-only builder for registry tests (it never builds)."""
    spec = kzoo.ModelSpec(
        name=name,
        description=f"test model {name}",
        api="functional",
        tags=tags,
        inputs=(kzoo.TensorSpec("input", (3,)),),
        outputs=(kzoo.TensorSpec("output", (2,), loss="sparse_categorical_crossentropy"),),
        default_config={"units": 4},
        params=params,
    )
    return type(f"Builder_{name}", (kzoo.ModelBuilder,), {"spec": spec})()


class ModelsPlugin:
    """An in-process plugin registering the given builders."""

    def __init__(self, *builders: kzoo.ModelBuilder, aliases: dict[str, tuple[str, ...]] | None = None) -> None:
        self.builders = builders
        self.aliases = aliases or {}

    @kzoo.hookimpl
    def kzoo_register_models(self, register):
        for builder in self.builders:
            register(builder, aliases=self.aliases.get(builder.spec.name, ()))
