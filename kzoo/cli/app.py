"""The root ``kzoo`` click group and how it turns errors and warnings into one-line messages."""

from __future__ import annotations

import signal
import threading
import warnings
from typing import Any

import click

from .. import __version__
from ..errors import KzooError, KzooWarning, Note
from .plumbing import BACKENDS, choose, missing_backend, quiet_tensorflow_start

#: Keras's advice to the author of a layer (a missing ``build()``), which the user of a saved model
#: cannot act on: not shown as a ``kzoo: warning:``. pytest shows it to the plugin's author when
#: the conformance kit builds the model.
AUTHOR_WARNINGS = (r".*does not have a `build\(\)` method implemented and it looks like it has unbuilt state",)

FLAGS = {"config": "--set", "inputs": "--input"}
"""The CLI flags whose names differ from the Python option they set (others: ``--`` + the name)."""


def flag_of(option: str) -> str:
    """The flag that sets Python option ``option``: ``skip_bad_files`` -> ``--skip-bad-files``."""
    return FLAGS.get(option) or "--" + option.replace("_", "-")


class KzooGroup(click.Group):
    """A click group that prints kzoo errors as ``kzoo: error: ...`` and exits 1, no traceback;
    usage errors (a missing or unknown option) are one such line too, and exit 2."""

    def invoke(self, ctx: click.Context) -> Any:
        warnings.showwarning = _show_warning
        # Python hides DeprecationWarning outside __main__; a renamed model's warning is for the user
        # (kzoo's warnings point past kzoo's own frames, here into click's).
        warnings.filterwarnings("default", category=DeprecationWarning, message=r"model name .* is deprecated")
        for pattern in AUTHOR_WARNINGS:
            warnings.filterwarnings("ignore", message=pattern, category=UserWarning)
        interrupted = _watch_ctrl_c()
        try:
            return super().invoke(ctx)
        except KzooError as exc:
            click.echo(f"kzoo: error: {exc.render(flag_of)}", err=True)
            ctx.exit(1)
        except click.UsageError as exc:  # one line, like every other error, not click's four
            where = exc.ctx.command_path if exc.ctx is not None else ctx.command_path
            message = exc.format_message().strip()
            message = message[:1].lower() + message[1:] + ("" if message.endswith((".", "?", ")")) else ".")
            click.echo(f"kzoo: error: {message} See '{where} --help'.", err=True)
            ctx.exit(2)
        except KeyboardInterrupt:
            click.echo("kzoo: interrupted", err=True)
            ctx.exit(130)
        except ModuleNotFoundError as exc:  # KERAS_BACKEND names a backend whose package is missing
            missing = missing_backend(exc)
            if missing is None:
                raise
            click.echo(f"kzoo: error: {missing.render(flag_of)}", err=True)
            ctx.exit(1)
        except Exception:
            # Ctrl-C inside TensorFlow's C++ code can surface as another exception (a SystemError
            # from CPython internals); after a Ctrl-C, any failure is the interruption.
            if not interrupted.is_set():
                raise
            click.echo("kzoo: interrupted", err=True)
            ctx.exit(130)


def _watch_ctrl_c() -> threading.Event:
    """An event set by the next Ctrl-C (which still raises KeyboardInterrupt as usual)."""
    seen = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        return seen
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return seen  # someone else handles Ctrl-C (an embedding application, a test runner)

    def on_sigint(signum: int, frame: Any) -> None:
        seen.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    return seen


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    text = message.render(flag_of) if isinstance(message, KzooWarning) else str(message)
    click.echo(f"kzoo: {'note' if isinstance(message, Note) else 'warning'}: {text}", err=True)


@click.group(cls=KzooGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="kzoo", message="%(prog)s %(version)s")
@click.option("--backend", type=click.Choice(BACKENDS), default=None, metavar="|".join(BACKENDS),
              help="Keras backend for this command (sets KERAS_BACKEND; default: KERAS_BACKEND, else tensorflow). "
                   "See docs/backends.md.")
def main(backend: str | None) -> None:
    """kzoo: a plugin-style model zoo for Keras.

    Every model, built-in or from a plugin, is listed, built, trained, evaluated and
    used for prediction the same way.

    \b
    Start here:
      kzoo list                      every model, its inputs and size
      kzoo info two_input_mlp        one model's metadata (--summary builds it)
      kzoo plugins                   where the models come from
      kzoo train mlp --data digits --out m.keras    train on a data set (`kzoo datasets`)
      kzoo predict m.keras --data new.csv           use a saved model
      kzoo weights                   trained weights: kzoo evaluate mlp.iris --data iris
      kzoo export mlp.iris --format onnx -o m.onnx  SavedModel, LiteRT or ONNX, checked

    Environment: KZOO_LOAD_PLUGINS, KZOO_DISABLE_PLUGINS, KZOO_STRICT_PLUGINS,
    KZOO_TRACE_PLUGINS, KZOO_PLUGIN_TIMEOUT, KZOO_PLUGIN_ABANDON (see `kzoo plugins --help`);
    KZOO_CACHE_DIR, KZOO_OFFLINE, KZOO_DOWNLOAD_TIMEOUT, KZOO_MAX_DOWNLOAD_BYTES (see `kzoo
    weights --help`); KZOO_MAX_ARRAY_BYTES, KZOO_MAX_PARAMS, KZOO_MAX_MEMORY (docs/data.md,
    Limits); KERAS_BACKEND (or --backend).
    """
    if backend is not None:  # before any command imports keras, which reads it once
        choose(backend)
    quiet_tensorflow_start()  # TensorFlow starts only once a command needs it, and then quietly
