"""The ``kzoo`` command: a thin shell over the Python API.

Errors a user can cause print one line on stderr and exit 1; usage errors exit 2 (click).
Each command lives in its own module; this one only assembles them.
"""

from __future__ import annotations

from .app import main
from .export import export_command
from .manifest import manifest_command
from .models import info_command, list_command, plugins_command
from .plot import plot_command
from .scaffold import new_plugin_command
from .train import datasets_command, evaluate_command, predict_command, train_command
from .weights import weights_command

main.add_command(list_command)
main.add_command(info_command)
main.add_command(plugins_command)
main.add_command(plot_command)
main.add_command(train_command)
main.add_command(evaluate_command)
main.add_command(predict_command)
main.add_command(datasets_command)
main.add_command(new_plugin_command)
main.add_command(manifest_command)
main.add_command(weights_command)
main.add_command(export_command)

__all__ = ["main"]
