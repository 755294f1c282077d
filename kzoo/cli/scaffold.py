"""``kzoo new-plugin``: start a third-party plugin project (a thin shell over :func:`kzoo.new_plugin`)."""

from __future__ import annotations

import click

from .. import new_plugin, new_plugin_names


@click.command("new-plugin")
@click.argument("name")
@click.option("-d", "--dir", "directory", type=click.Path(file_okay=False), metavar="PATH",
              help="Folder to write the project in (default: ./NAME). Must be new or empty.")
@click.option("--adapter", is_flag=True,
              help="An adapter project: a model library's architectures as rows of one table (kzoo.model_table), "
                   "named PLUGIN/ARCH, built by functions imported only to build.")
def new_plugin_command(name: str, directory: str | None, adapter: bool) -> None:
    """Write a complete, installable kzoo plugin project called NAME.

    It has a pyproject.toml with the `kzoo` entry point and a kzoo version range,
    a package with one example model builder, a README, and tests that run
    kzoo's conformance kit. NAME is a distribution name such as kzoo-hello
    (plugin `hello`, package `kzoo_hello`, model `hello_mlp`). With --adapter
    the package wraps a library instead: a table of two keras.applications
    architectures (`hello/mobilenet`, `hello/mobilenet_v2`), with backbones.

    \b
    Examples:
      kzoo new-plugin kzoo-hello
      kzoo new-plugin kzoo-hello --dir ~/src/kzoo-hello
      kzoo new-plugin kzoo-kapps --adapter
      cd kzoo-hello && pip install -e ".[test]" && kzoo list 'hello*' && python -m pytest -q
    """
    target = new_plugin(name, directory, adapter=adapter)
    names = new_plugin_names(name)
    click.echo(f"wrote plugin project {name!r} to {target}")
    models = (f"example models '{names['plugin']}/mobilenet', '{names['plugin']}/mobilenet_v2'" if adapter
              else f"example model {names['model']!r}")
    click.echo(f"  plugin {names['plugin']!r}, package {names['package']!r}, {models}")
    click.echo("next:")
    click.echo(f"  cd {target}")
    click.echo('  pip install -e ".[test]"')
    click.echo(f"  kzoo list '{names['plugin']}{'/' if adapter else ''}*'")
    click.echo("  python -m pytest -q")
