"""``kzoo manifest PACKAGE_DIR``: write a plugin package's kzoo-manifest.json (a shell over
:func:`kzoo.write_manifest`)."""

from __future__ import annotations

import click


@click.command("manifest")
@click.argument("package_dir", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the written path and model names as JSON.")
def manifest_command(package_dir: str, as_json: bool) -> None:
    """Build every model of the plugin package in PACKAGE_DIR and write PACKAGE_DIR/kzoo-manifest.json.

    The manifest keeps what only a build can tell (inputs, outputs, api style, parameter
    count) so `kzoo list` shows it without importing keras. Ship it as package data and
    rerun this after changing a model; the conformance kit fails while it is stale.

    \b
    Examples:
      kzoo manifest src/kzoo_tiny
      kzoo manifest kzoo_tiny --json
    """
    from .. import write_manifest

    path, names = write_manifest(package_dir)
    if as_json:
        from .output import echo_json

        echo_json({"path": str(path), "models": names})
        return
    click.echo(f"wrote {path} ({len(names)} model{'s' if len(names) != 1 else ''}: {', '.join(names)})")
