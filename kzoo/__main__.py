"""``python -m kzoo`` runs the CLI."""

from .cli import main

main(prog_name="kzoo")
