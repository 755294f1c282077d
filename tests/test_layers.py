"""kzoo's modules import one way: wing by wing and module by module as docs/architecture.md
lists them, with no cycle (imports inside functions and under ``TYPE_CHECKING`` counted); and a
user's mistake on the CLI is reported before keras or tensorflow is imported."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import kzoo

PACKAGE = Path(kzoo.__file__).parent


def module_files() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imported_modules(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The kzoo modules ``name`` imports anywhere in its file, plus the packages whose ``__init__``
    such an import runs first. Imports inside functions count (they run when called), and so do
    those under ``TYPE_CHECKING``: a type in a signature is something its reader must know."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    targets: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the package, up one level per dot after the first
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            targets += [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
    found: set[str] = set()
    for target in targets:
        while target not in modules and "." in target:
            target = target.rsplit(".", 1)[0]
        if target == "kzoo" and name != "kzoo":  # `import kzoo`, `from kzoo import build`: the public facade
            found.add(target)
            continue
        if target not in modules or not target.startswith("kzoo"):
            continue
        parts = target.split(".")
        for k in range(2, len(parts) + 1):  # importing a.b.c runs a.b's __init__ first
            step = ".".join(parts[:k])
            if step in modules and step != name and not name.startswith(step + "."):
                found.add(step)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = module_files()
    return {name: imported_modules(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for other in graph[todo.pop()] - seen:
            seen.add(other)
            todo.append(other)
    return seen


def test_no_import_cycle_among_kzoo_modules_counting_imports_inside_functions_and_type_hints():
    graph = import_graph()
    assert len(graph) > 40 and graph["kzoo._workflow.training"], "the graph must see kzoo's modules and their imports"
    assert cycles(graph) == []


def test_the_cycle_check_can_fail():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_model_builder_knows_nothing_of_training_plugins_or_data_sources():
    below = reachable(import_graph(), "kzoo._zoo.builder")
    for upper in ("kzoo._workflow.training", "kzoo._zoo.plugins", "kzoo._zoo.registry", "kzoo._workflow.api",
                  "kzoo._store.saving", "kzoo._workflow.loading", "kzoo._zoo.datasets", "kzoo.cli"):
        assert upper not in below, f"kzoo._zoo.builder reaches up to {upper}"


PROBE = """
import json, sys
from click.testing import CliRunner
from kzoo.cli import main
result = CliRunner().invoke(main, sys.argv[1:])
print(json.dumps({"exit": result.exit_code, "output": result.output,
                  "heavy": sorted(m for m in ("keras", "tensorflow", "jax") if m in sys.modules)}))
"""


def cli_probe(*args: str, env: dict[str, str] | None = None) -> dict:
    """Run one ``kzoo`` command in a fresh interpreter; what it printed and which frameworks it imported."""
    import os

    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})}, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_cli_user_errors_are_reported_before_keras_or_tensorflow_starts(tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("a,b,label\n1,2,0\n3,4,1\n")
    read_only = tmp_path / "ro"
    read_only.mkdir()
    read_only.chmod(0o500)
    cases = [
        (["train", "mlpp", "--data", "iris"], "Did you mean mlp?"),
        (["train", "mlp", "--data", "digits", "--epochs", "0"], "--epochs 0 (expected an integer in 1.."),
        (["train", "mlp", "--data", str(tmp_path / "missing.csv")], "no data file"),
        (["train", "mlp", "--data", "irsi"], "Did you mean iris?"),
        (["train", "mlp", "--data", str(csv), "--target", "nope"], "no target column 'nope'"),
        (["train", "mlp", "--data", "iris", "--out", "m.h5"], "--out m.h5 (expected a path ending in .keras)"),
        (["train", "mlp", "--data", "iris", "--weights", "irsi"], "unknown weights 'irsi'"),
        (["train", "mlp", "--data", "iris", "--freeze"], "--freeze (expected weights to fine-tune from"),
    ]
    if os_can_refuse_writes(read_only):
        cases.append((["train", "mlp", "--data", "iris", "--out", str(read_only / "m.keras")], "cannot write"))
    for args, message in cases:
        seen = cli_probe(*args)
        assert seen["exit"] == 1 and message in seen["output"], (args, seen["output"])
        assert seen["heavy"] == [], f"{args} imported {seen['heavy']} before reporting: {seen['output']}"
    bad_cluster = cli_probe("train", "mlp", "--data", "iris", "--strategy", "multi-worker",
                            env={"TF_CONFIG": "{not json"})
    assert bad_cluster["exit"] == 1 and "TF_CONFIG" in bad_cluster["output"] and bad_cluster["heavy"] == []


def os_can_refuse_writes(folder: Path) -> bool:
    """False as root, where a folder's permissions do not stop writes."""
    import os

    return not os.access(folder, os.W_OK)


Wings = list[tuple[str, list[str]]]


def documented_wings(text: str | None = None) -> Wings:
    """docs/architecture.md's wings, bottom to top: each ``## `` heading's wing (its first
    backticked name, else its first word) and the modules its tables list, in order."""
    import re

    if text is None:
        text = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    wings: Wings = []
    for line in text.splitlines():
        heading = re.match(r"^## (.*)", line)
        if heading:
            named = re.search(r"`([\w.]+)`", heading.group(1))
            wings.append((named.group(1) if named else heading.group(1).split()[0].strip(":").lower(), []))
        row = re.match(r"^\| `(kzoo(?:\.\w+)*)` \|", line)
        if row:
            assert wings, f"{row.group(1)} is listed before the first wing heading"
            wings[-1][1].append(row.group(1))
    return wings


def documented_order() -> list[str]:
    """The modules of docs/architecture.md's tables, top to bottom."""
    return [module for _, modules in documented_wings() for module in modules]


def folder_wing(module: str) -> str | None:
    """The wing a module's folder puts it in (``kzoo._zoo.builder`` -> ``kzoo._zoo``; a package's
    ``__init__`` is its own wing's); None for a module at the package root, whose wing is the
    section that lists it."""
    parts = module.split(".")
    if len(parts) >= 2 and (PACKAGE / parts[1]).is_dir():
        return ".".join(parts[:2])
    return None


def misplaced(wings: Wings, folder_of=folder_wing) -> list[str]:
    """Modules listed under a wing other than their folder's."""
    return [f"{module} is listed under {wing}, its folder is {folder_of(module)}"
            for wing, modules in wings for module in modules
            if folder_of(module) not in (None, wing)]


def upward_imports(graph: dict[str, set[str]], wings: Wings) -> list[str]:
    """Imports from a wing to a wing listed after it (a higher one)."""
    floor = {module: (i, wing) for i, (wing, modules) in enumerate(wings) for module in modules}
    return sorted(f"{name} ({floor[name][1]}) imports {other} ({floor[other][1]})"
                  for name in graph for other in graph[name] if floor[other][0] > floor[name][0])


def test_the_architecture_page_lists_every_module_once_in_an_order_the_imports_respect():
    graph = import_graph()
    order = documented_order()
    assert sorted(order) == sorted(graph), "docs/architecture.md must list every kzoo module exactly once"
    position = {name: i for i, name in enumerate(order)}
    upward = sorted(f"{name} imports {other}" for name in graph for other in graph[name]
                    if position[other] > position[name])
    assert upward == [], "each module may import only modules listed above it in docs/architecture.md"


def test_every_module_sits_in_its_folders_wing_and_imports_only_its_own_or_lower_wings():
    wings = documented_wings()
    names = [wing for wing, _ in wings]
    assert len(names) == len(set(names)) >= 8, names
    folders = {folder_wing(module) for module in import_graph()} - {None}
    assert folders <= set(names), f"wings without a section in docs/architecture.md: {folders - set(names)}"
    assert misplaced(wings) == []
    assert upward_imports(import_graph(), wings) == []
    assert root_modules_inside_wings(wings) == []


def root_modules_inside_wings(wings: Wings, folder_of=folder_wing) -> list[str]:
    """Modules at the package root listed in a wing between the ground floor and the public API:
    a root module is a fact every wing may use (ground) or a public face above the wings
    (``kzoo.distribute`` re-exports ``_engine``), never a wing's code out of its folder, which
    its wing's modules would import from above."""
    names = [wing for wing, _ in wings]
    top = names.index("kzoo") if "kzoo" in names else len(names)
    return [f"{module} sits at the package root but is listed under {wing}; move it into {wing}'s folder"
            for i, (wing, modules) in enumerate(wings) if 0 < i < top
            for module in modules if folder_of(module) is None]


def test_the_wing_checks_can_fail():
    page = """## ground: facts
| `kzoo.errors` | exceptions |
## `kzoo._low`: below
| `kzoo._low.a` | a |
## `kzoo._high`: above
| `kzoo._high.b` | b |
| `kzoo._low.c` | c, in the wrong wing |
"""
    wings = documented_wings(page)
    assert wings == [("ground", ["kzoo.errors"]), ("kzoo._low", ["kzoo._low.a"]),
                     ("kzoo._high", ["kzoo._high.b", "kzoo._low.c"])]
    folder_of = lambda module: ".".join(module.split(".")[:2]) if module.count(".") >= 2 else None  # noqa: E731
    assert misplaced(wings, folder_of) == ["kzoo._low.c is listed under kzoo._high, its folder is kzoo._low"]
    graph = {"kzoo.errors": set(), "kzoo._low.a": {"kzoo._high.b", "kzoo.errors"}, "kzoo._high.b": {"kzoo._low.a"},
             "kzoo._low.c": set()}
    assert upward_imports(graph, wings) == ["kzoo._low.a (kzoo._low) imports kzoo._high.b (kzoo._high)"]
    at_root = documented_wings(page.replace("| `kzoo._low.a` | a |", "| `kzoo._low.a` | a |\n| `kzoo.loose` | root |")
                               + "## `kzoo`: the public API\n| `kzoo` | api |\n| `kzoo.face` | a face |\n")
    assert root_modules_inside_wings(at_root, folder_of) == [
        "kzoo.loose sits at the package root but is listed under kzoo._low; move it into kzoo._low's folder"]


CLI_PLUMBING = "kzoo.cli.plumbing"
CLI_PLUMBING_MAY_IMPORT = ("kzoo._engine.options", "kzoo._engine.precision", "kzoo._meta.tables",
                           "kzoo._system.backend", "kzoo._system.files", "kzoo._system.quiet")
"""What has no meaning outside a command line (flag choices and limits, --backend, quiet start,
output-file checks): the only private modules kzoo.cli may import, and only through its plumbing."""


def is_private(module: str) -> bool:
    return any(part.startswith("_") and not part.startswith("__") for part in module.split(".")[1:])


def cli_private_imports(graph: dict[str, set[str]]) -> list[str]:
    """kzoo.cli's imports below the public API: any private module from a command, and from the
    plumbing any but :data:`CLI_PLUMBING_MAY_IMPORT` (and the wing packages they sit in)."""
    allowed = set(CLI_PLUMBING_MAY_IMPORT) | {module.rsplit(".", 1)[0] for module in CLI_PLUMBING_MAY_IMPORT}
    return sorted(f"{name} imports {other}" for name in graph if name == "kzoo.cli" or name.startswith("kzoo.cli.")
                  for other in graph[name] if is_private(other) and not (name == CLI_PLUMBING and other in allowed))


def test_the_cli_stands_on_the_public_api_and_its_plumbing_alone():
    graph = import_graph()
    assert CLI_PLUMBING in graph and graph["kzoo.cli.train"], "the graph must see the CLI's modules"
    assert cli_private_imports(graph) == [], (
        "a kzoo.cli command calls kzoo's public names (make what it needs public first); only "
        "kzoo.cli.plumbing reaches below them, for flag choices, --backend and quiet start (docs/architecture.md)")


def test_the_cli_check_can_fail():
    graph = {"kzoo.cli.train": {"kzoo", "kzoo._workflow", "kzoo._workflow.training"},
             "kzoo.cli.plumbing": {"kzoo._system", "kzoo._system.backend", "kzoo._store", "kzoo._store.saving"},
             "kzoo.cli.app": {"kzoo.errors", "kzoo.cli.plumbing"}, "kzoo._zoo.registry": {"kzoo._zoo.builder"}}
    assert cli_private_imports(graph) == [
        "kzoo.cli.plumbing imports kzoo._store", "kzoo.cli.plumbing imports kzoo._store.saving",
        "kzoo.cli.train imports kzoo._workflow", "kzoo.cli.train imports kzoo._workflow.training"]


def test_every_package_folder_is_listed_for_the_wheel():
    """A wing missing from pyproject's package list would work in an editable install and be
    absent from the wheel users install."""
    import pytest

    tomllib = pytest.importorskip("tomllib")
    listed = set(tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    folders = {".".join(path.parent.relative_to(PACKAGE.parent).parts) for path in PACKAGE.rglob("__init__.py")}
    assert len(folders) >= 11 and folders - listed == set()


def test_the_wheel_ships_the_typing_marker():
    """``kzoo/py.typed`` (PEP 561) tells type checkers to read kzoo's own hints; it reaches the
    wheel only as package data."""
    import pytest

    tomllib = pytest.importorskip("tomllib")
    package_data = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]
    assert (PACKAGE / "py.typed").is_file() and "py.typed" in package_data["kzoo"]


def test_every_public_name_resolves_through_the_lazy_re_exports():
    """``kzoo`` and ``kzoo.datasets`` load some names on first use from the wings that define
    them, by module path in a table: a module that moved must take its table entry along."""
    import kzoo.datasets

    for package in (kzoo, kzoo.datasets):
        missing = [name for name in package.__all__ if getattr(package, name, None) is None]
        assert missing == [], f"{package.__name__} cannot load {missing}"
