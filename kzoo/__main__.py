"""``python -m kzoo`` runs the CLI."""

from .cli import run

run()
