"""Exceptions a user can cause. Each message says what was wrong, what was expected, what to try.

The CLI prints ``str(error)`` on one line and exits 1 for any :class:`KzooError`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable

OPTION = re.compile("\u2039(\\w+)\u203a")
"""How a message marks an option: ``‹target›`` (see :func:`option`)."""


def option(name: str) -> str:
    """A mention of option ``name`` inside a message: shown as ``name`` to Python callers and as the
    command's flag (``--target``) by the CLI, so the library never spells out CLI flags."""
    return f"\u2039{name}\u203a"


class KzooError(Exception):
    """Base class of every error kzoo raises on purpose."""

    def render(self, flag: Callable[[str], str] | None = None) -> str:
        """The message, each marked option written as ``flag(name)`` (default: the Python name)."""
        text = str(self.args[0]) if len(self.args) == 1 else Exception.__str__(self)  # KeyError would repr() it
        return OPTION.sub(lambda m: flag(m.group(1)) if flag else m.group(1), text)

    def __str__(self) -> str:
        return self.render()


class UnknownModelError(KzooError, KeyError):
    """A model name that no loaded plugin registered."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        self.name = name
        self.suggestions = close_matches(name, known)
        hint = f" Did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"unknown model {name!r}.{hint} Run `kzoo list` to see every model.")


class ConfigError(KzooError, ValueError):
    """A build config with an unknown key, a wrong type or an out-of-range value."""


class OptionError(ConfigError):
    """Training or data-reading options out of range (``kzoo.TrainOptions``, ``kzoo.DataOptions``).

    ``problems`` holds ``(option, value, expected)`` for each; the message names options as
    Python does (``epochs=0``) and :meth:`render` lets the CLI name its flags (``--epochs 0``)."""

    def __init__(self, problems: Iterable[tuple[str, object, str]], what: str = "training option") -> None:
        self.problems = list(problems)
        self.what = what
        super().__init__(self.render())

    def render(self, flag: Callable[[str], str] | None = None) -> str:
        """The message, with each option written by ``flag(name)`` (default: ``name=value``)."""
        parts = [f"{name}={value!r}" if flag is None else flag(name) if value is True else f"{flag(name)} {value}"
                 for name, value, _ in self.problems]
        s = "s" if len(self.problems) > 1 else ""
        return f"bad {self.what}{s}: " + "; ".join(
            f"{part} (expected {expected})" for part, (_, _, expected) in zip(parts, self.problems)) + "."


class SearchError(ConfigError):
    """A hyperparameter search that cannot start: a bad search space, storage URL or study
    (``kzoo tune`` exits 2 for it, as for a bad flag)."""


class PluginError(KzooError):
    """A plugin that failed to load, or broke a rule of the registry (strict mode raises it)."""


class DuplicateModelError(PluginError):
    """Two plugins registered the same model name."""


class DataError(KzooError, ValueError):
    """Data that cannot feed a model: missing, malformed, or shaped for another model."""


class WeightsError(DataError):
    """Trained weights that cannot be found, fetched or verified, or that do not fit their model."""


class UnknownWeightsError(WeightsError, KeyError):
    """A weights name that no loaded plugin registered."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        self.name = name
        self.suggestions = close_matches(name, known)
        hint = f" Did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"unknown weights {name!r}.{hint} Run `kzoo weights` to see every trained model.")


class MissingToolError(KzooError):
    """A program or package a feature needs is not installed; the message says how to install it."""


class ConformanceError(KzooError, AssertionError):
    """A model or plugin failed a conformance check (``kzoo.testing``); the message names both.
    Also an ``AssertionError``, so pytest reports it as a failed test."""


class KzooWarning(UserWarning):
    """Base class of kzoo's warnings: something the user should know that does not stop the work."""

    def render(self, flag: Callable[[str], str] | None = None) -> str:
        """The message, each marked option written as ``flag(name)`` (default: the Python name)."""
        return OPTION.sub(lambda m: flag(m.group(1)) if flag else m.group(1), str(self.args[0]) if self.args else "")

    def __str__(self) -> str:
        return self.render()


class PluginWarning(KzooWarning):
    """A plugin failed to load or is outside its supported kzoo versions; the rest go on."""


class ConformanceWarning(KzooWarning):
    """The conformance kit's advice to a plugin's author: a check passed on a guess worth confirming."""


class DiagramWarning(KzooWarning):
    """A diagram was drawn but shows less than the user may expect (a subclassed model)."""


class Note(KzooWarning):
    """Something kzoo chose or noticed that the user should know, not a problem (the CLI prints
    ``kzoo: note:``)."""


class CsvNote(Note):
    """Something about how a table was read that the user should know (not an error): a column
    left out, rows without a target, the task chosen for the target."""


class ChoiceNote(Note):
    """A choice kzoo made where the user left it open: the model for a table when none was named."""


def outside_kzoo() -> int:
    """The ``stacklevel`` for ``warnings.warn`` that points at the first caller outside kzoo: a
    note raised deep in kzoo.train(...) is shown with the user's line, not one of kzoo's source
    (as pandas's ``find_stack_level`` does)."""
    import os
    import sys

    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame, level = sys._getframe(1), 1  # the frame that calls warnings.warn is stacklevel 1
    while frame.f_back is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def close_matches(word: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` candidates close to ``word``, best first, for did-you-mean hints."""
    return difflib.get_close_matches(word, list(candidates), n=n, cutoff=0.6)


class OutputError(KzooError, OSError):
    """An output file that cannot be written: permission denied, read-only file system, disk
    full, a directory in the way. The message names the path and the OS reason. Also an
    ``OSError``, so code that caught the raw error keeps working."""
