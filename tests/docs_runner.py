"""Runs the code blocks of a Markdown page, in order, so the docs cannot rot.

A fenced block runs according to its language and an optional HTML comment on the line before it:

- ``python``: executed in one namespace per page, in the page's working folder.
- ``bash``: run by bash in the working folder (``cd`` carries over to later blocks), with the venv's
  ``kzoo``/``python`` first on PATH. ``pip install`` installs into a temporary folder (on
  PYTHONPATH for later blocks and for this process) instead of the test environment. A ``kzoo``
  command runs in this process (:class:`InProcessKzoo`: the page's arguments, folder, ``KZOO_*``
  variables, stdout, stderr and exit code; no start of TensorFlow per command), except one
  naming another backend, which runs the real ``kzoo`` in a fresh interpreter.
- ``<!-- file: PATH -->``: the block is written to PATH, relative to the working folder.
- ``<!-- docs-test: output -->``: the block must equal what the previous python block printed.
- ``<!-- docs-test: skip (why) -->``: not run; the reason says what it waits for.
- ``text``: an illustration, not run. Any other unmarked block fails: mark it or make it run.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import os
import re
import subprocess
import sys
import tempfile
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path

from kzoo._zoo import plugins

FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
MARKER = re.compile(r"<!--\s*(docs-test|file):\s*(.*?)\s*-->\s*\Z", re.S)

PIP = """
pip() {
  if [ "$1" = install ]; then
    shift; local args=()
    for a in "$@"; do [ "$a" = -e ] || args+=("$a"); done
    command python -m pip install -q --upgrade --no-deps {isolation} --target "$KZOO_DOCS_SITE" "${args[@]}"
  else
    command python -m pip "$@"
  fi
}
"""


# `kzoo` inside a bash block: the arguments, folder and environment go to InProcessKzoo through a
# FIFO; its stdout, stderr and exit code come back as the command's own.
KZOO = r"""
kzoo() {
  case " $* " in *" --backend "*) command kzoo "$@"; return;; esac  # another backend: a fresh interpreter
  if [ "${KERAS_BACKEND:-tensorflow}" != tensorflow ]; then command kzoo "$@"; return; fi
  local req code
  req=$(mktemp -d)
  printf '%s\0' "$@" > "$req/args"; pwd > "$req/cwd"; env -0 > "$req/env"
  echo "$req" > "$KZOO_DOCS_SERVER/requests"
  read -r _ < "$KZOO_DOCS_SERVER/replies"
  cat "$req/out"; cat "$req/err" >&2
  code=$(cat "$req/code"); rm -rf "$req"
  return "$code"
}
"""


class InProcessKzoo:
    """Serves the ``kzoo`` commands of one bash block in this process, from a thread, while the
    block runs (the test's own thread only waits for bash)."""

    def __init__(self, *fresh: Path) -> None:
        self.fresh = fresh  # folders whose modules each command imports anew, as a new process would
        self.folder = Path(tempfile.mkdtemp(prefix="kzoo-docs-"))
        for name in ("requests", "replies"):
            os.mkfifo(self.folder / name)
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> InProcessKzoo:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        while self.thread.is_alive():  # the server waits for a request: an empty one stops it
            try:
                fd = os.open(self.folder / "requests", os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # no reader this instant
                self.thread.join(timeout=0.05)
                continue
            os.write(fd, b"\n")
            os.close(fd)
            self.thread.join(timeout=60)
        for name in ("requests", "replies"):
            os.unlink(self.folder / name)
        self.folder.rmdir()

    def _serve(self) -> None:
        while True:
            with open(self.folder / "requests") as f:
                request = f.readline().strip()
            if not request:
                return
            self._answer(Path(request))
            with open(self.folder / "replies", "w") as f:
                f.write("done\n")

    def _answer(self, request: Path) -> None:
        from click.testing import CliRunner

        from kzoo.cli import main

        previous = os.getcwd()
        try:
            args = (request / "args").read_text().split("\0")[:-1]
            page_env = dict(item.split("=", 1) for item in (request / "env").read_text().split("\0") if "=" in item)
            env = {k: page_env.get(k) for k in {*os.environ, *page_env} if k.startswith("KZOO_")}
            env.pop("KZOO_DOCS_SITE", None)
            env.pop("KZOO_DOCS_SERVER", None)
            os.chdir((request / "cwd").read_text().strip())
            for folder in self.fresh:  # what pip installed or the page wrote, imported anew as by a fresh `kzoo`
                forget_modules_under(folder)
            importlib.invalidate_caches()
            plugins.reset()  # a `pip install` earlier in the block may have added a plugin
            result = CliRunner().invoke(main, args, prog_name="kzoo", env=env)
            out, err, code = result.stdout, result.stderr, result.exit_code
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                err += "".join(traceback.format_exception(result.exception))
        except Exception:  # the page's command fails, with the reason, rather than bash waiting forever
            out, err, code = "", traceback.format_exc(), 1
        finally:
            os.chdir(previous)
            plugins.reset()
        (request / "out").write_text(out)
        (request / "err").write_text(err)
        (request / "code").write_text(str(code))


def forget_modules_under(folder: str | Path) -> None:
    """Drop the modules imported from ``folder`` so the next import reads their files again."""
    root = os.path.realpath(folder) + os.sep
    for name, module in list(sys.modules.items()):
        where = getattr(module, "__file__", None)
        if where and os.path.realpath(where).startswith(root):
            del sys.modules[name]


@dataclass(frozen=True)
class Block:
    lang: str
    code: str
    line: int
    marker: tuple[str, str] | None  # ("file", path) or ("docs-test", "skip ..."/"output")

    @property
    def skipped(self) -> str | None:
        if self.marker and self.marker[0] == "docs-test" and self.marker[1].startswith("skip"):
            return self.marker[1]
        return None


def blocks(text: str) -> list[Block]:
    out, end = [], 0
    for match in FENCE.finditer(text):
        before = text[end:match.start()].rstrip()
        last = before.splitlines()[-1] if before else ""
        marker = MARKER.search(last)
        out.append(Block(match.group(1), match.group(2), text.count("\n", 0, match.start()) + 1,
                         (marker.group(1), marker.group(2)) if marker else None))
        end = match.end()
    return out


class PageRunner:
    def __init__(self, page: Path, workdir: Path, site: Path) -> None:
        self.page, self.cwd, self.site, self.root = page, workdir, site, workdir
        self.namespace: dict = {"__name__": "__docs__"}
        self.stdout = ""

    def run(self) -> list[Block]:
        """Run every block; return the skipped ones."""
        skipped = []
        for block in blocks(self.page.read_text()):
            if block.skipped:
                skipped.append(block)
            else:
                self.run_block(block)
        return skipped

    def where(self, block: Block) -> str:
        return f"{self.page.name}:{block.line}"

    def run_block(self, block: Block) -> None:
        kind, value = block.marker or ("", "")
        if kind == "file":
            path = self.cwd / value
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(block.code)
        elif kind == "docs-test" and value == "output":
            assert block.code.strip() == self.stdout.strip(), f"{self.where(block)}: the page shows output that " \
                f"the code before it does not print:\n{self.stdout}"
        elif block.lang == "python":
            self.run_python(block)
        elif block.lang == "bash":
            self.run_bash(block)
        elif block.lang != "text":
            raise AssertionError(f"{self.where(block)}: a {block.lang or 'plain'} block that is neither run nor "
                                 "marked; add <!-- file: PATH --> or <!-- docs-test: skip (why) --> before it")

    def run_python(self, block: Block) -> None:
        buffer = io.StringIO()
        previous = os.getcwd()
        os.chdir(self.cwd)
        try:
            with contextlib.redirect_stdout(buffer):
                exec(compile(block.code, self.where(block), "exec"), self.namespace)
        finally:
            os.chdir(previous)
        self.stdout = buffer.getvalue()

    def run_bash(self, block: Block) -> None:
        state = self.site.parent / "cwd.txt"
        isolation = "--no-build-isolation" if importlib.util.find_spec("setuptools") else ""
        script = "set -euo pipefail\n" + PIP.replace("{isolation}", isolation) + KZOO + \
            f'cd "{self.cwd}"\n{block.code}\npwd > "{state}"\n'
        env = {k: v for k, v in os.environ.items() if not k.startswith("KZOO_")}
        with InProcessKzoo(self.site, self.root) as server:
            env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}", PYTHONPATH=str(self.site),
                       KZOO_DOCS_SITE=str(self.site), KZOO_DOCS_SERVER=str(server.folder), TF_CPP_MIN_LOG_LEVEL="2")
            out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=600)
        assert out.returncode == 0, f"{self.where(block)} failed:\n{block.code}\n{out.stdout}\n{out.stderr}"
        self.stdout = out.stdout
        self.cwd = Path(state.read_text().strip())
        plugins.reset()  # an install may have added a plugin: the next python block sees it
