"""Build and pip-install throwaway plugin distributions, as a third party would ship them."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path


def write_project(root: Path, name: str, files: dict[str, str], entry_points: dict[str, str], requires: str = "") -> Path:
    """A minimal setuptools project at ``root`` with ``files`` and ``kzoo`` entry points.

    Top-level modules and packages (a folder holding ``__init__.py``) are listed explicitly:
    setuptools' flat-layout discovery refuses them. A package ships its ``kzoo-manifest.json``.
    """
    root.mkdir(parents=True, exist_ok=True)
    eps = "\n".join(f'{key} = "{value}"' for key, value in entry_points.items())
    deps = f'dependencies = ["{requires}"]' if requires else ""
    modules = sorted(Path(rel).stem for rel in files if "/" not in rel and rel.endswith(".py"))
    packages = sorted(str(Path(rel).parent).replace("/", ".") for rel in files if rel.endswith("/__init__.py"))
    (root / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""\
            [build-system]
            requires = ["setuptools>=61"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "{name}"
            version = "0.1.0"
            {deps}

            [tool.setuptools]
            py-modules = {modules!r}
            packages = {packages!r}
            package-data = {{"*" = ["kzoo-manifest.json"]}}

            [project.entry-points.kzoo]
            """
        )
        + eps
        + "\n"
    )
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def pip_install(project: Path, target: Path) -> None:
    """``pip install --target``: the distribution lands in ``target`` with its entry points."""
    isolation = [] if importlib.util.find_spec("setuptools") is None else ["--no-build-isolation"]
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", *isolation, "--target", str(target), str(project)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
