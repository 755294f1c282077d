"""A plugin cannot hang kzoo: each import and hook call runs in a daemon thread the caller waits on.

Environment:
  KZOO_PLUGIN_TIMEOUT=5      seconds a plugin's import or hook may run before kzoo warns, naming
                             it, that it is still running ("0" switches the warning off)
  KZOO_PLUGIN_ABANDON=60     seconds after which kzoo stops waiting for a plugin's import or hook:
                             the plugin is marked failed and the command goes on ("0": wait forever)

A call still running after KZOO_PLUGIN_ABANDON seconds is abandoned (Python cannot stop a
thread: it runs on, unheard, and dies with the process) with a PluginError naming it.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

from .._system.limits import env_seconds
from ..errors import PluginError

T = TypeVar("T")
DEFAULT_PLUGIN_TIMEOUT = 5.0
DEFAULT_PLUGIN_ABANDON = 60.0

#: The plugin host being loaded, handed to every plugin call's thread: a plugin whose import or
#: hook calls back into kzoo while the host loads sees that host, not a lock it would wait on.
loading: contextvars.ContextVar[object | None] = contextvars.ContextVar("kzoo_loading_host", default=None)


def plugin_timeout() -> float:
    """KZOO_PLUGIN_TIMEOUT in seconds (0: no warning); a bad value is a ConfigError naming it."""
    return env_seconds("KZOO_PLUGIN_TIMEOUT", DEFAULT_PLUGIN_TIMEOUT, zero_means="no warning")


def abandon_timeout() -> float:
    """KZOO_PLUGIN_ABANDON in seconds (0: wait forever); a bad value is a ConfigError naming it."""
    return env_seconds("KZOO_PLUGIN_ABANDON", DEFAULT_PLUGIN_ABANDON, zero_means="wait forever")


class _Call(threading.Thread):
    """One plugin import or hook call in a daemon thread, so that the caller can stop waiting."""

    def __init__(self, what: str, func: Callable[[], T]) -> None:
        super().__init__(name=f"kzoo-plugin: {what}", daemon=True)
        self.func, self.result, self.error = func, None, None
        self.loading = loading.get()  # a hook that calls back into kzoo sees the host being loaded

    def run(self) -> None:
        loading.set(self.loading)  # this thread's own context: nothing else of the caller's leaks in
        try:
            self.result = self.func()
        except BaseException as exc:  # handed to the caller, who decides
            self.error = exc


def bounded(what: str, plugin: str, func: Callable[[], T]) -> T:
    """``func()`` (a plugin's import or hook), warning after KZOO_PLUGIN_TIMEOUT seconds and given
    up after KZOO_PLUGIN_ABANDON seconds with a PluginError naming ``what``. Its exceptions are
    raised here, in the caller's thread."""
    warn, abandon = plugin_timeout(), abandon_timeout()
    if not abandon:
        with watchdog(what, plugin):
            return func()
    call = _Call(what, func)
    call.start()
    if warn and warn < abandon:
        call.join(warn)
        if call.is_alive():
            report_slow(f"{what} has run for more than {warn:g} s and is still running; kzoo gives up on it after "
                        f"{abandon:g} s (KZOO_PLUGIN_ABANDON), or press Ctrl-C and skip it with "
                        f"KZOO_DISABLE_PLUGINS={plugin} (KZOO_PLUGIN_TIMEOUT=0 silences this warning).")
    call.join(max(abandon - (warn if warn and warn < abandon else 0), 0))
    if call.is_alive():
        raise PluginError(f"{what} did not return within {abandon:g} s (KZOO_PLUGIN_ABANDON) and was abandoned; "
                          f"skip the plugin with KZOO_DISABLE_PLUGINS={plugin}")
    if call.error is not None:
        raise call.error
    return call.result  # type: ignore[return-value]


def report_slow(message: str) -> None:
    """Print the watchdog's warning (a function so tests can watch for it)."""
    print(f"kzoo: warning: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def watchdog(what: str, plugin: str) -> Iterator[None]:
    """Warn on stderr, naming ``what``, if the block is still running after KZOO_PLUGIN_TIMEOUT
    seconds. Python cannot stop a hung plugin; naming it lets the user disable it."""
    limit = plugin_timeout()
    if limit <= 0:
        yield
        return
    message = (f"{what} has run for more than {limit:g} s and is still running; press Ctrl-C and skip it "
               f"with KZOO_DISABLE_PLUGINS={plugin} (KZOO_PLUGIN_TIMEOUT=0 silences this warning).")
    timer = threading.Timer(limit, report_slow, args=(message,))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
