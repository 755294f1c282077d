"""``kzoo new-plugin``: start a third-party plugin project (a thin shell over :func:`kzoo.new_plugin`)."""

from __future__ import annotations

import click

from .. import new_plugin, new_plugin_names


@click.command("new-plugin")
@click.argument("name")
@click.option("-d", "--dir", "directory", type=click.Path(file_okay=False), metavar="PATH",
              help="Folder to write the project in (default: ./NAME). Must be new or empty.")
def new_plugin_command(name: str, directory: str | None) -> None:
    """Write a complete, installable kzoo plugin project called NAME.

    It has a pyproject.toml with the `kzoo` entry point and a kzoo version range,
    a package with one example model builder, a README, and tests that run
    kzoo's conformance kit. NAME is a distribution name such as kzoo-hello
    (plugin `hello`, package `kzoo_hello`, model `hello_mlp`).

    \b
    Examples:
      kzoo new-plugin kzoo-hello
      kzoo new-plugin kzoo-hello --dir ~/src/kzoo-hello
      cd kzoo-hello && pip install -e ".[test]" && kzoo list 'hello*' && python -m pytest -q
    """
    target = new_plugin(name, directory)
    names = new_plugin_names(name)
    click.echo(f"wrote plugin project {name!r} to {target}")
    click.echo(f"  plugin {names['plugin']!r}, package {names['package']!r}, example model {names['model']!r}")
    click.echo("next:")
    click.echo(f"  cd {target}")
    click.echo('  pip install -e ".[test]"')
    click.echo(f"  kzoo list '{names['plugin']}*'")
    click.echo("  python -m pytest -q")
