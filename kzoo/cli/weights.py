"""``kzoo weights``: list, verify and fetch the trained weights plugins publish (listing and
verifying never import keras; a thin shell over ``kzoo.all_weights``, ``kzoo.weights_path``,
``kzoo.verify_weights`` and ``kzoo.fetch_weights``)."""

from __future__ import annotations

from typing import Any

import click

from .. import (
    Weights,
    all_weights,
    fetch_weights,
    get_weights,
    list_weights,
    verify_weights,
    weights_path,
)
from ..errors import UnknownWeightsError, WeightsError
from .output import echo_json, echo_table, printable

TABLE_WIDTH = 100


def main_metric(weights: Weights) -> str:
    """The first recorded metric that is not a loss (what a user compares weights by)."""
    for key, value in weights.metrics.items():
        if "loss" not in key:
            return f"{key} {value:.4f}"
    return next((f"{k} {v:.4f}" for k, v in weights.metrics.items()), "-")


def size_of(weights: Weights) -> str:
    path = weights_path(weights)
    size = path.stat().st_size if path is not None else weights.size
    return "-" if size is None else f"{size / 1024:.1f} KiB"


@click.group("weights", invoke_without_command=True)
@click.option("-m", "--model", metavar="NAME", help="Only the weights of model NAME.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of weights cards.")
@click.pass_context
def weights_command(ctx: click.Context, model: str | None, as_json: bool) -> None:
    """List the trained weights plugins publish: name, data set, metric, size, digest, source.

    A weights name (MODEL.NAME, such as mlp.iris or resnet50.imagenet) works wherever a .keras
    file does. Files are checked against their digest (ALGORITHM:HEX, the sha256, or the md5
    where that is all the publisher gives) before every use. Environment: KZOO_CACHE_DIR
    (where downloads go), KZOO_OFFLINE=1 (never use the network), KZOO_DOWNLOAD_TIMEOUT
    (seconds to answer, and per 64 KiB), KZOO_MAX_DOWNLOAD_BYTES (for cards without a size).
    Keras's ImageNet files (NAME.imagenet) are downloaded, with the same limits, into Keras's cache
    (KERAS_HOME, else ~/.keras).

    \b
    Examples:
      kzoo weights
      kzoo weights verify
      kzoo weights fetch mlp.iris
      kzoo weights --model resnet50      (each card in full: digest, source)
      kzoo evaluate two_input_mlp.digits --data digits
      kzoo train mlp --weights iris --data my.csv --target species --freeze --out ft.keras
      kzoo export mlp.iris --format onnx -o mlp.onnx
    """
    if ctx.invoked_subcommand is not None:
        return
    names = list_weights(model)
    found = [all_weights()[n] for n in names]
    if as_json:
        echo_json([w.to_dict() for w in found])
        return
    if not found:
        click.echo("no weights registered" + (f" for model {model!r}" if model else "") + "; see `kzoo plugins`.", err=True)
        return
    if model:
        # One model's weights in full: what a user checks before trusting a file.
        click.echo("\n\n".join(card_text(w) for w in found))
        return
    # What tells weights apart, in 100 columns; the source and digest (URLs of 140 characters)
    # are in --model NAME and --json, and `kzoo weights verify` checks every digest.
    rows = [[w.full_name, w.dataset or "-", main_metric(w), size_of(w), w.license or "-"] for w in found]
    echo_table(["name", "data set", "metric", "size", "license"], rows, width=TABLE_WIDTH)


def card_text(weights: Weights) -> str:
    """One weights card, a field a line, nothing cut (long sources and digests included)."""
    fields = [("name", weights.full_name), ("data set", weights.dataset or "-"), ("metric", main_metric(weights)),
              ("size", size_of(weights)), ("license", weights.license or "-"),
              ("digest", f"{weights.hash_algorithm}:{weights.digest}"), ("source", weights.source or "-")]
    return "\n".join(f"{label + ':':<10}{printable(value)}" for label, value in fields)


@weights_command.command("verify")
@click.argument("names", nargs=-1)
def verify_command(names: tuple[str, ...]) -> None:
    """Re-hash every bundled or cached weights file (or only NAMES); never downloads.

    A cached file that fails is removed from the cache. Exits 1 if any file fails.
    """
    found = [all_weights()[n] if n in all_weights() else _unknown(n) for n in names] or \
        [all_weights()[n] for n in list_weights()]
    results = [verify_weights(w) for w in found]
    echo_table(["name", "status", "path"], [[r.weights.full_name, r.status, r.path or "-"] for r in results], max_last=200)
    failed = [r for r in results if r.status == "failed"]
    if failed:
        raise WeightsError(f"{len(failed)} of {len(results)} weights files failed verification: "
                           + "; ".join(r.message for r in failed))


def _unknown(name: str) -> Any:
    raise UnknownWeightsError(name, all_weights())


@weights_command.command("fetch")
@click.argument("names", nargs=-1, required=True)
def fetch_command(names: tuple[str, ...]) -> None:
    """Download weights NAMES into the cache ahead of time (a progress bar on a terminal) and
    check their digest; bundled files are only checked. Keras's files go to Keras's cache."""
    for name in names:
        weights = get_weights(name)
        path = fetch_weights(weights)
        click.echo(f"{weights.full_name}: {path} ({weights.hash_algorithm} {weights.digest[:12]}… verified)")
