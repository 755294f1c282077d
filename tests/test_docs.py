"""The docs: they build (strict, offline), the models page comes from the registry, every hook is
documented, and the code of the quickstart, the API-styles page, the plugin tutorial and the data
page runs."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import kzoo
import kzoo.distribute

from ._images import assert_png
from .conftest import ModelsPlugin, make_builder
from .docs_runner import PageRunner, blocks

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
RUNNABLE = ["quickstart.md", "api-styles.md", "write-a-plugin.md", "data.md", "weights.md", "sklearn.md"]
# Blocks not run, and what each waits for.
NOT_RUN = {
    "quickstart.md": ["skip (installs packages)"],
    "api-styles.md": [],
    "write-a-plugin.md": [],
    "data.md": [],
    "weights.md": [],
    "sklearn.md": [],
}


def models_page():
    spec = importlib.util.spec_from_file_location("kzoo_docs_models_page", DOCS / "_tools" / "models_page.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_build_strict(tmp_path: Path) -> None:
    site = tmp_path / "site"
    out = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    models = (site / "models" / "index.html").read_text()
    for name in kzoo.list_models():
        spec = kzoo.get_spec(name)
        assert f'id="{name}"' in models and f"{spec.params:,}" in models
    assert not (DOCS / "models.md").exists(), "the models page is generated, never written by hand"
    weights_page = (site / "weights" / "index.html").read_text()
    assert "kzoo:weights-table" not in weights_page
    for name in kzoo.list_weights():
        weights = kzoo.all_weights()[name]
        assert f"<code>{weights.hash_algorithm}:{weights.digest[:12]}</code>" in weights_page and f"<code>{name}</code>" in models
    assert not (site / "_tools").exists()
    if shutil.which("dot"):  # the build draws every model's diagram (Graphviz) up to a size
        from kzoo._workflow.diagrams import DRAW_ALL_MAX_PARAMS

        for name in kzoo.list_models():
            drawn = kzoo.get_spec(name).params <= DRAW_ALL_MAX_PARAMS
            assert (f'src="../diagrams/{name}.png"' in models) == drawn, name
            assert (site / "diagrams" / f"{name}.png").exists() == drawn, name
            if drawn:
                assert_png(site / "diagrams" / f"{name}.png")


def test_models_page_is_generated_from_the_registry(tmp_path: Path, monkeypatch) -> None:
    kzoo.register_plugin(ModelsPlugin(make_builder("docs_probe_model", params=12345)), "docs_probe")
    page = models_page()
    text = page.render()
    assert "| [`docs_probe_model`](#docs_probe_model) | functional | `input`[3] | `output`[2] | 12,345 | docs_probe |" in text
    assert "## docs_probe_model" in text and "- `units` = `4`" in text
    assert "![Architecture of mlp]" not in text
    assert "![Architecture of mlp](diagrams/mlp.png)" in page.render({"mlp"}), "a drawn diagram shows up"
    assert "Diagrams were not drawn for this build: install dot" in page.render(missing="install dot")


def hookspecs() -> dict[str, str]:
    """Each hook in kzoo/hookspecs.py -> its signature as the docs must show it."""
    tree = ast.parse((ROOT / "kzoo" / "hookspecs.py").read_text())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and any(ast.unparse(d) == "hookspec" for d in node.decorator_list):
            returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
            out[node.name] = f"def {node.name}({ast.unparse(node.args)}){returns}"
    return out


def test_every_hook_is_documented_with_its_exact_signature() -> None:
    specs = hookspecs()
    assert set(specs) == {name for name in dir(kzoo.hookspecs) if name.startswith("kzoo_")}
    reference = (DOCS / "hooks.md").read_text()
    undocumented = [name for name in specs if f"## {name}\n" not in reference]
    assert not undocumented, f"hooks without a section in docs/hooks.md: {undocumented}"
    code = {b.code.strip() for b in blocks(reference)}
    wrong = {name: sig for name, sig in specs.items() if sig not in code}
    assert not wrong, f"docs/hooks.md must show these signatures exactly: {wrong}"


def test_hooks_reference_documents_no_removed_hook() -> None:
    documented = {line[3:].strip() for line in (DOCS / "hooks.md").read_text().splitlines() if line.startswith("## ")}
    assert documented == set(hookspecs())


def test_public_functions_document_args_returns_and_example() -> None:
    """Every public function says its arguments, what it gives back and how to call it (Google
    style, as ``keras.saving.load_model``): ``Args:`` unless it takes none, ``Returns:`` or
    ``Yields:``, and ``Example:`` / ``Example::``. Classes and exceptions are not checked."""
    sections = {"Args": r"^Args:$", "Returns": r"^(Returns|Yields):$", "Example": r"^Examples?::?$"}
    missing = []
    for module in (kzoo, kzoo.distribute):
        for name in module.__all__:
            function = getattr(module, name)
            if not inspect.isroutine(function):
                continue
            doc = inspect.getdoc(function) or ""
            wanted = dict(sections)
            if not inspect.signature(function).parameters:
                del wanted["Args"]
            lacks = [section for section, pattern in wanted.items() if not re.search(pattern, doc, re.MULTILINE)]
            if lacks:
                missing.append(f"{module.__name__}.{name}: {', '.join(lacks)}")
    assert not missing, "public functions whose docstring lacks sections:\n" + "\n".join(missing)


@pytest.mark.parametrize("page", RUNNABLE)
def test_page_code_runs(page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keras = pytest.importorskip("keras")
    site = tmp_path / "site"
    site.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.syspath_prepend(str(site))  # what the page's `pip install` adds, python blocks see
    keras.utils.set_random_seed(0)
    skipped = PageRunner(DOCS / page, work, site).run()
    assert [b.skipped for b in skipped] == NOT_RUN[page]
    if page == "write-a-plugin.md":  # the tutorial ends with an installed plugin, tests included
        assert (site / "kzoo_tiny" / "kzoo-manifest.json").is_file(), "the manifest is shipped as package data"
        assert (work / "kzoo-tiny" / "tests" / "test_conformance.py").is_file()


def test_runnable_pages_have_code() -> None:
    for page in RUNNABLE:
        runnable = [b for b in blocks((DOCS / page).read_text()) if b.lang in ("python", "bash") and not b.skipped]
        assert len(runnable) >= 2, page
