"""mkdocs hook: writes the Models page from kzoo's registry at build time (never by hand).

Every model of every loaded plugin gets a row in the overview and a section with its api styles,
inputs, outputs, parameter count and default config, all read from its ModelSpec (no keras).
"""

from __future__ import annotations

from pathlib import Path

import kzoo
from kzoo.config import format_value

PAGE = "models.md"
DIAGRAMS = "diagrams"  # docs/diagrams/<model>.png, when present, is shown in the model's section
DIAGRAM_DIR = Path(__file__).resolve().parents[1] / DIAGRAMS


def render() -> str:
    """The Markdown of the Models page."""
    names = kzoo.list_models()
    lines = [
        "# Models",
        "",
        "Generated from the registry when the docs are built: every model of every loaded plugin.",
        "`kzoo list` and `kzoo info NAME` show the same facts from the command line.",
        "",
        "| name | api | inputs | outputs | params | plugin | description |",
        "| --- | --- | --- | --- | ---: | --- | --- |",
    ]
    for name in names:
        spec = kzoo.get_spec(name)
        lines.append(
            f"| [`{name}`](#{_anchor(name)}) | {' / '.join(spec.apis)} | {_tensors(spec.inputs)} | "
            f"{_tensors(spec.outputs)} | {spec.params:,} | {spec.plugin} | {_cell(spec.description)} |"
        )
    for name in names:
        lines += ["", *_section(name)]
    return "\n".join(lines) + "\n"


def _section(name: str) -> list[str]:
    spec = kzoo.get_spec(name)
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
    out += diagram(name)
    return out


def diagram(name: str) -> list[str]:
    """The model's architecture diagram, if ``docs/diagrams/<name>.png`` exists.

    Diagrams are drawn by a later change (kzoo plot / graphviz): write the PNGs into
    docs/diagrams/ before the build (or draw them here) and they appear in each model's section.
    """
    if (DIAGRAM_DIR / f"{name}.png").is_file():
        return ["", f"![Architecture of {name}]({DIAGRAMS}/{name}.png)"]
    return []


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _tensors(tensors) -> str:
    return " ".join(f"`{t.name}`{list(t.shape)}" for t in tensors)


def _anchor(name: str) -> str:
    return name.lower().replace(".", "").replace(" ", "-")


# -- mkdocs event ------------------------------------------------------------------------------
def on_files(files, config):
    """Add the generated page to the site's files (mkdocs >= 1.6)."""
    from mkdocs.structure.files import File

    files.append(File.generated(config, PAGE, content=render()))
    return files
