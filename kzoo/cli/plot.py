"""``kzoo plot``: a model's architecture diagram, drawn by Keras's plot_model through Graphviz."""

from __future__ import annotations

import click

from .. import plot_model
from ..config import parse_assignments


@click.command("plot")
@click.argument("name")
@click.option("-s", "--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="Override a config value, e.g. --set num_classes=3 (repeatable).")
@click.option("-o", "--out", "--output", "output", type=click.Path(), metavar="FILE",
              help="Where to write: a .png or .svg file (default: NAME.png), as train and predict's -o/--out.")
def plot_command(name, assignments, output) -> None:
    """Draw model NAME's architecture: each layer's name and shapes, nested models expanded.

    Needs pydot and Graphviz's `dot` program (`apt-get install graphviz`). A subclassed model
    (mlp --set api=subclass) is one box to Keras; draw its functional twin to see its layers.

    \b
    Examples:
      kzoo plot mlp -o mlp.png
      kzoo plot siamese_mlp -o siamese.svg
      kzoo plot mlp --set api=functional --set hidden_units=64,64 -o mlp-wide.png
    """
    path = plot_model(name, output or f"{name}.png", **parse_assignments(assignments))
    click.echo(f"wrote {path}")
