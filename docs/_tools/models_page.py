"""mkdocs hook: writes the Models page from kzoo's registry at build time (never by hand).

Every model of every loaded plugin gets a row in the overview and a section with its api styles,
inputs, outputs, parameter count, default config and trained weights, all read from its ModelSpec
and weights cards (no keras). The same weights table replaces the marker in the weights page.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import kzoo
from kzoo.config import format_value

PAGE = "models.md"
WEIGHTS_PAGE = "weights.md"
WEIGHTS_MARKER = "<!-- kzoo:weights-table -->"
DIAGRAMS = "diagrams"  # the site's folder of architecture diagrams, drawn at build time


def render(diagrams: set[str] = frozenset(), missing: str = "") -> str:
    """The Markdown of the Models page; ``diagrams`` names the models whose diagram was drawn,
    ``missing`` says why none could be (a tool to install)."""
    names = kzoo.list_models()
    lines = [
        "# Models",
        "",
        "Generated from the registry when the docs are built: every model of every loaded plugin.",
        "`kzoo list` and `kzoo info NAME` show the same facts from the command line, and",
        "`kzoo plot NAME -o NAME.png` draws the diagram shown in each model's section.",
        "",
        *([f"*Diagrams were not drawn for this build: {missing}*", ""] if missing else []),
        "| name | api | inputs | outputs | params | plugin | description |",
        "| --- | --- | --- | --- | ---: | --- | --- |",
    ]
    for name in names:
        spec = _spec(name)
        lines.append(
            f"| [`{name}`](#{_anchor(name)}) | {' / '.join(spec.apis)} | {_tensors(spec.inputs)} | "
            f"{_tensors(spec.outputs)} | {spec.params:,} | {spec.plugin} | {_cell(spec.description)} |"
        )
    for name in names:
        lines += ["", *_section(name, name in diagrams)]
    return "\n".join(lines) + "\n"


def _spec(name: str) -> kzoo.ModelSpec:
    """The model's spec; facts a plugin without a manifest leaves unknown are read from a build."""
    spec = kzoo.get_spec(name)
    if spec.is_complete:
        return spec
    from dataclasses import replace

    facts = kzoo.get(name).facts()
    return replace(spec, api=spec.api or facts.api, inputs=spec.inputs or facts.inputs,
                   outputs=spec.outputs or facts.outputs, params=facts.params if spec.params is None else spec.params)


def _section(name: str, has_diagram: bool = False) -> list[str]:
    spec = _spec(name)
    out = [
        f"## {name}",
        "",
        spec.description,
        "",
        f"- **api**: {' / '.join(spec.apis)} (the first is the default)",
        f"- **plugin**: `{spec.plugin}`",
        f"- **tags**: {', '.join(spec.tags) or '-'}",
        f"- **params**: {spec.params:,} with the default config",
    ]
    if spec.paper:
        out.append(f"- **paper**: {spec.paper}")
    if spec.license:
        out.append(f"- **license**: {spec.license}")
    out += ["", "| tensor | name | shape | dtype | loss | metrics |", "| --- | --- | --- | --- | --- | --- |"]
    out += [f"| input | `{t.name}` | {list(t.shape)} | {t.dtype} | | |" for t in spec.inputs]
    out += [
        f"| output | `{t.name}` | {list(t.shape)} | {t.dtype} | {t.loss or '-'} | {', '.join(t.metrics) or '-'} |"
        for t in spec.outputs
    ]
    out += ["", "Default config (change with `--set KEY=VALUE` or `build(KEY=VALUE)`):", ""]
    out += [f"- `{key}` = `{format_value(value)}`" for key, value in spec.default_config.items()]
    weights = kzoo.list_weights(name)
    if weights:
        out += ["", f"Trained weights (`kzoo.build(\"{name}\", weights=NAME)`; see [Weights and export]({WEIGHTS_PAGE})):", ""]
        out += weights_table(weights)
    if has_diagram:
        out += ["", f"![Architecture of {name}]({DIAGRAMS}/{name}.png)"]
    return out


def weights_table(names: list[str] | None = None) -> list[str]:
    """Markdown rows of the weights ``names`` (default: every registered one) with their metrics."""
    names = kzoo.list_weights() if names is None else names
    lines = ["| weights | data set | metrics | size | digest | license |", "| --- | --- | --- | ---: | --- | --- |"]
    for full in names:
        w = kzoo.all_weights()[full]  # listing: no model check, no keras
        metrics = ", ".join(f"{k} {v:.4f}" for k, v in w.metrics.items() if "loss" not in k) or "-"
        size = "-" if w.size is None else f"{w.size / 1024:.1f} KiB"
        lines.append(f"| `{full}` | {w.dataset or '-'} | {metrics} | {size} | `{w.hash_algorithm}:{w.digest[:12]}` | {w.license or '-'} |")
    return lines


def draw_diagrams(folder: Path) -> tuple[dict[str, Path], str]:
    """Every model's diagram drawn into ``folder`` (kzoo._workflow.diagrams, Graphviz), or why it could not be."""
    from kzoo._workflow.diagrams import MissingToolError, draw_all

    try:
        return {path.stem: path for path in draw_all(folder)}, ""
    except MissingToolError as exc:
        return {}, str(exc)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _tensors(tensors) -> str:
    return " ".join(f"`{t.name}`{list(t.shape)}" for t in tensors)


def _anchor(name: str) -> str:
    return name.lower().replace(".", "").replace(" ", "-")


def fill_weights_page(markdown: str) -> str:
    return markdown.replace(WEIGHTS_MARKER, "\n".join(weights_table()))


# -- mkdocs event ------------------------------------------------------------------------------
def on_files(files, config):
    """Add the generated page to the site's files (mkdocs >= 1.6)."""
    from mkdocs.structure.files import File

    drawn, missing = draw_diagrams(Path(tempfile.mkdtemp(prefix="kzoo-diagrams-")))
    for name, path in drawn.items():
        files.append(File.generated(config, f"{DIAGRAMS}/{name}.png", content=path.read_bytes()))
    files.append(File.generated(config, PAGE, content=render(set(drawn), missing)))
    return files


def on_page_markdown(markdown, page, config, files):
    """Put the generated weights table into the weights page."""
    return fill_weights_page(markdown) if page.file.src_uri == WEIGHTS_PAGE else markdown
