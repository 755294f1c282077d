"""The ``kzoo`` command: a thin shell over the Python API.

Errors a user can cause print one line on stderr and exit 1; usage errors (a missing or unknown
option) print one such line too and exit 2.
Each command lives in its own module; this one only assembles them.
"""

from __future__ import annotations

import os
import sys
import threading

from .app import main
from .export import export_command
from .manifest import manifest_command
from .models import info_command, list_command, plugins_command
from .plot import plot_command
from .scaffold import new_plugin_command
from .train import datasets_command, evaluate_command, predict_command, train_command
from .tune import tune_command
from .weights import weights_command

main.add_command(list_command)
main.add_command(info_command)
main.add_command(plugins_command)
main.add_command(plot_command)
main.add_command(train_command)
main.add_command(tune_command)
main.add_command(evaluate_command)
main.add_command(predict_command)
main.add_command(datasets_command)
main.add_command(new_plugin_command)
main.add_command(manifest_command)
main.add_command(weights_command)
main.add_command(export_command)



def run() -> None:
    """The ``kzoo`` program: :func:`main`, then exit without waiting for threads a plugin started
    and never ended (Python would wait for them forever after the command finished)."""
    try:
        main(prog_name="kzoo")
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    strays = [t.name for t in threading.enumerate()
              if t is not threading.main_thread() and not t.daemon and t.is_alive()]
    if not strays:
        raise SystemExit(code)
    print(f"kzoo: warning: not waiting for thread(s) {', '.join(strays[:3])} that a plugin left running.",
          file=sys.stderr)
    if not isinstance(code, int):
        if code is not None:
            print(code, file=sys.stderr)
        code = 0 if code is None else 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


__all__ = ["main", "run"]
