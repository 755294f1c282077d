"""``kzoo tune``: a thin shell over ``kzoo.tune``, with ``kzoo train``'s data and training flags
(the same click options, taken from ``kzoo train``, and the same :func:`options_from_flags`)."""

from __future__ import annotations

import copy

import click

from ..config import format_value
from ..errors import SearchError
from .app import flag_of
from .output import echo_json, echo_table
from .train import options_from_flags, train_command

SHARED = ("data", "inputs", "samples", "skip_bad_files", "target", "assignments", "epochs", "batch_size",
          "learning_rate", "schedule", "val_split", "patience", "steps_per_execution", "standardize", "task",
          "na_values", "drop", "precision", "seed", "out", "quiet")
"""The ``kzoo train`` flags a search takes; checkpoints, curves and distribution are per run, not per search."""
CHANGED = {
    "val_split": {"default": 0.2, "help": "Fraction held out for validation: the same rows for every trial."},
    "epochs": {"help": "Each trial's ceiling of passes over the training data (default: the model's recipe)."},
    "seed": {"help": "Seed of the validation split and of the first trial (trial N trains with seed + N)."},
    "out": {"help": "Write the best trial's model (.keras), with its parameters and metric (kzoo info shows them)."},
    "quiet": {"help": "No progress lines and no summary."},
}


def _shared_options() -> list[click.Parameter]:
    """``kzoo train``'s own click options, those a search changes copied with their new default or help."""
    found = {p.name: p for p in train_command.params}
    params = []
    for name in SHARED:
        param = found[name]
        if name in CHANGED:
            param = copy.copy(param)
            for attribute, value in CHANGED[name].items():
                setattr(param, attribute, value)
        params.append(param)
    return params


def parse_space(items: tuple[str, ...]) -> dict[str, str]:
    """``("dropout=0:0.5", "hidden_units=64|128,64")`` -> ``{"dropout": "0:0.5", ...}``; kzoo.tune reads the values."""
    space = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip() or not text.strip():
            raise click.UsageError(f"--space {item!r} is not KEY=LOW:HIGH, KEY=log:LOW:HIGH or KEY=A|B; write for "
                                   f"example --space dropout=0:0.5.")
        space[key.strip()] = text.strip()
    return space


@click.command("tune")
@click.argument("model")
@click.option("-n", "--trials", type=click.IntRange(min=1), default=20, show_default=True,
              help="Completed trials the study needs; every worker on the storage stops when it has them.")
@click.option("--storage", metavar="URL",
              help="Share the study: sqlite:///FILE.db on one machine, postgresql://... or journal:FILE for several "
                   "(docs/tune.md). Default: in memory, this process only.")
@click.option("--study", metavar="NAME", help="The study's name (default kzoo-MODEL); an existing one resumes.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
              help="Start no new trial after SECONDS (a running one finishes).")
@click.option("--space", "space_items", multiple=True, metavar="KEY=RANGE",
              help="Search KEY (a config key or learning_rate, batch_size, epochs, patience, schedule): LOW:HIGH, "
                   "log:LOW:HIGH or A|B|C, on top of the model's space (kzoo info MODEL). Repeatable.")
@click.option("--no-prune", is_flag=True,
              help="Train every trial to its end (default: Optuna's median pruner stops a trial whose metric, after "
                   "an epoch, is worse than the median of earlier trials at that epoch).")
@click.option("--json", "as_json", is_flag=True, help="Print the study's result as JSON (progress lines go to stderr).")
def tune_command(model, trials, storage, study, timeout, space_items, no_prune, as_json, **flags) -> None:
    """Search MODEL's hyperparameters on data with Optuna; with --out, save the best model.

    Each trial is a kzoo train run with its own seed on the same validation rows, reporting its
    validation metric (val_accuracy for a classifier, else val_loss) after each epoch, so hopeless
    trials are pruned. Start the same command in several shells or machines on one --storage:
    they share the study with no chief, and a killed worker's trial is marked failed and replaced.

    \b
    Examples:
      kzoo tune mlp --data wine --trials 20 --out best.keras
      kzoo tune mlp --data my.csv --target label --space learning_rate=log:1e-4:1e-2 --space 'hidden_units=64|128,64'
      kzoo tune realmlp --data my.csv --target y --storage sqlite:///tune.db --trials 50   (in N shells)
      kzoo tune mlp --data iris --trials 8 --storage journal:tune.log --study iris-mlp --json
    """
    from .. import tune

    options, reading, config = options_from_flags(**flags)
    quiet = flags["quiet"]
    progress = None if quiet else (lambda line: click.echo(line, err=as_json))
    try:
        result = tune(model, flags["data"], trials, parse_space(space_items), config, options, reading, storage=storage,
                      study=study, timeout=timeout, progress=progress, pruner="none" if no_prune else None)
    except SearchError as exc:  # a bad --space, --storage or --study: a usage error, before anything trains
        raise click.UsageError(exc.render(flag_of)) from None
    if as_json:
        echo_json(result.to_dict())
        return
    if quiet:
        return
    shown = [t for t in result.trials if t["state"] != "RUNNING"]
    rows = [[t["number"], t["state"].lower(), "-" if t["value"] is None else f"{t['value']:.4f}", t["epochs"] or "-",
             "-" if t["seconds"] is None else f"{t['seconds']:.1f}",
             " ".join(f"{k}={_shown(v)}" for k, v in t["params"].items())] for t in shown]
    echo_table(["trial", "state", result.metric, "epochs", "seconds", "params"], rows, max_last=120)
    if result.best is None:
        click.echo("no trial completed")
        return
    best = result.best
    params = " ".join(f"{k}={_shown(v)}" for k, v in best["params"].items())
    click.echo(f"best: trial {best['number']}, {result.metric} {best['value']:.4f}: {params}")
    if result.out:
        click.echo(f"wrote {result.out}")


def _shown(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else format_value(value)


tune_command.params[1:1] = _shared_options()  # after MODEL: kzoo train's flags, then the search's own
