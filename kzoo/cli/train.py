"""``kzoo train``, ``kzoo evaluate``, ``kzoo predict`` and ``kzoo datasets``: thin shells over
``kzoo.train``, ``kzoo.evaluate``, ``kzoo.predict`` and ``kzoo.datasets``."""

from __future__ import annotations

import logging
import sys

import click

from .. import DataOptions, TrainOptions
from ..config import parse_assignments
from ..errors import ConfigError, option
from .output import csv_text, echo_json, echo_table, write_csv
from .plumbing import (
    DEFAULT_NA_VALUES,
    MAX_INTEGER_CLASSES,
    PRECISIONS,
    RECIPE_DEFAULTS,
    SCHEDULES,
    STRATEGIES,
    TASKS,
    check_distinct,
    check_writable,
)

DEFAULTS = TrainOptions()
"""The flags' defaults: those of ``kzoo.train`` in Python."""

DATA_HELP = ("A data set name (see `kzoo datasets`), 'synthetic', a .csv / .tsv file (also .gz, .zip...), a .npz "
             "file, or an image folder "
             "(one sub-folder per class) or image file.")


def parse_inputs(items: tuple[str, ...]) -> dict[str, list[str]] | None:
    """``("input_1=a,b", "input_2=c")`` -> ``{"input_1": ["a", "b"], "input_2": ["c"]}``."""
    mapping: dict[str, list[str]] = {}
    for item in items:
        name, sep, cols = item.partition("=")
        columns = [c.strip() for c in cols.split(",") if c.strip()]
        if not sep or not name.strip() or not columns:
            raise ConfigError(f"--input {item!r} is not NAME=COL[,COL...]; write for example --input input_1=a,b.")
        mapping[name.strip()] = columns
    return mapping or None


class _EchoHandler(logging.Handler):
    """Log records as ``kzoo: message`` on whatever stderr is current (click.echo looks it up)."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"kzoo: {record.getMessage()}", err=True)


def show_log() -> None:
    """kzoo's INFO log lines (such as which layers fine-tuning rebuilt) on stderr."""
    logger = logging.getLogger("kzoo")
    if not any(isinstance(h, _EchoHandler) for h in logger.handlers):
        logger.addHandler(_EchoHandler())
    logger.setLevel(logging.INFO)


def data_options(func):
    """Options shared by every command that reads data."""
    func = click.option("--skip-bad-files", is_flag=True,
                        help="Leave out files of an image folder that are not readable images (with a count).")(func)
    func = click.option("--samples", type=int, default=None, metavar="N",
                        help="Samples of synthetic data (default 256).")(func)
    func = click.option("--input", "inputs", multiple=True, metavar="NAME=COLS",
                        help="CSV columns for one model input, e.g. --input input_1=a,b, or the text column "
                             "for a sequence input, e.g. --input title=review (repeatable).")(func)
    func = click.option("-d", "--data", required=True, metavar="SOURCE", help=DATA_HELP)(func)
    return func


@click.command("train")
@click.argument("model", required=False)
@data_options
@click.option("--target", multiple=True, metavar="COL",
              help="CSV target column; for several outputs OUTPUT=COL (repeatable).")
@click.option("-s", "--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="Override a config value, e.g. --set num_classes=10 (repeatable).")
@click.option("--epochs", type=int, default=None,
              help="Passes over the training data (a resumed run counts the epochs already done). "
                   f"Default: the model's recipe (kzoo info MODEL), else {RECIPE_DEFAULTS['epochs']}.")
@click.option("--batch-size", type=int, default=None,
              help="Samples per training step. Default: the model's recipe, else "
                   f"{RECIPE_DEFAULTS['batch_size']}, halved (to 16 at least) until an epoch is 8 steps or more.")
@click.option("--learning-rate", type=float, default=None,
              help=f"The optimizer's peak learning rate. Default: the model's recipe, else {RECIPE_DEFAULTS['learning_rate']}.")
@click.option("--schedule", type=click.Choice(SCHEDULES), default=None,
              help="Learning-rate schedule: cosine decay to a tenth over the run, or constant. Default: the "
                   f"model's recipe, else {RECIPE_DEFAULTS['schedule']}.")
@click.option("--val-split", type=float, default=0.0, show_default=True,
              help="Fraction held out for validation (stratified by class).")
@click.option("--patience", type=int, default=None, metavar="N",
              help="With --val-split: stop once val_accuracy (else val_loss) has not improved for N epochs and "
                   "keep the best epoch's weights; 0 trains all --epochs. Default: the model's recipe, else "
                   f"{RECIPE_DEFAULTS['patience']}.")
@click.option("--steps-per-execution", type=int, default=DEFAULTS.steps_per_execution, show_default=True,
              help="Training steps per graph call; 1 to debug or for multi-device strategies.")
@click.option("--standardize/--no-standardize", default=None,
              help="Z-score numeric features inside the saved model (default: on for files, the data set's "
                   "choice for named data sets).")
@click.option("--task", type=click.Choice(TASKS), default=None,
              help="Learn the target as classes or as a number (default: regression for a target with fractional "
                   f"values or more than {MAX_INTEGER_CLASSES} distinct whole numbers; the choice is printed).")
@click.option("--na-values", metavar="A,B,...", default=None,
              help="Cells that mean 'missing' (default: empty, " + ", ".join(v for v in DEFAULT_NA_VALUES if v)
                   + "). Missing numbers are imputed inside the model; rows with a missing target are left out.")
@click.option("--drop", multiple=True, metavar="COL", help="Leave column COL out of the features (repeatable).")
@click.option("--precision", type=click.Choice(PRECISIONS), default=DEFAULTS.precision, show_default=True,
              help="Layers compute in float32, or in 16 bits with float32 weights (Keras mixed precision: "
                   "faster on GPUs, bfloat16 on recent ones; see docs/performance.md).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed (0..4294967295) of weights, shuffling, validation split and synthetic data.")
@click.option("--checkpoint-dir", type=click.Path(file_okay=False), default=None,
              help="Save model and optimizer after each epoch; rerun the same command to resume.")
@click.option("-o", "--out", type=click.Path(), default=None, help="Write the trained model (.keras).")
@click.option("--metrics-out", type=click.Path(), default=None, help="Write final metrics and history (JSON).")
@click.option("--plot", type=click.Path(), default=None, metavar="FILE",
              help="Draw the training curves to FILE (.png, .svg or .pdf).")
@click.option("--strategy", type=click.Choice(STRATEGIES), default="default", show_default=True,
              help="tf.distribute strategy on TensorFlow, or data-parallel (keras.distribution.DataParallel) on "
                   "JAX (see docs/distributed.md, docs/backends.md).")
@click.option("--worker-timeout", type=float, default=DEFAULTS.worker_timeout, show_default=True, metavar="SECONDS",
              help="Multi-worker start-up: give up when a worker of TF_CONFIG has not started by then.")
@click.option("-w", "--weights", metavar="NAME|FILE",
              help="Fine-tune from trained weights (see `kzoo weights`), e.g. --weights iris, or from a model "
                   "kzoo saved (--weights stage1.keras: a second stage).")
@click.option("--freeze", is_flag=True,
              help="With --weights: train only the new head (models with a backbone), else the rebuilt layers "
                   "(or the output layers); BatchNorm runs in inference mode.")
@click.option("--unfreeze-top", type=int, default=None, metavar="N",
              help="With --weights: as --freeze, and also train the top N layers with weights (BatchNorm stays "
                   "frozen); use a lower --learning-rate, e.g. 1e-4.")
@click.option("--freeze-until", metavar="LAYER", help="With --weights: freeze every layer up to and including LAYER.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary.")
def train_command(model, data, inputs, samples, skip_bad_files, target, assignments, epochs, batch_size, learning_rate, schedule,
                  val_split, patience, steps_per_execution, standardize, task, na_values, drop, precision, seed, checkpoint_dir, out, metrics_out, plot,
                  strategy, worker_timeout, weights, freeze, unfreeze_top, freeze_until, quiet) -> None:
    """Train MODEL on data; with --out, save the trained model.

    Without MODEL (or with MODEL tabular), a table trains kzoo's default table model, named in a note.

    Input sizes and the class count are inferred from the data unless set with --set.
    Nothing is saved without --out. Output files (--out, --metrics-out, --plot) are written
    atomically and together: a failed or killed run leaves none half-written.

    \b
    Examples:
      kzoo train mlp --data digits --epochs 30 --out mlp.keras
      kzoo train two_input_mlp --data digits --set num_classes=10 --out two.keras --metrics-out m.json
      kzoo train --data my.csv --target species --val-split 0.2 --out m.keras   (kzoo's default table model)
      kzoo train mlp --data my.csv --target species --val-split 0.2 --checkpoint-dir ckpt/ --out m.keras
      kzoo train mlp --data penguins.csv --target body_mass_g --val-split 0.2 --out mass.keras  (regression)
      kzoo train siamese_mlp --data synthetic --epochs 2 --quiet
      kzoo train mlp --data iris --val-split 0.2 --plot curves.png --strategy mirrored
      kzoo train tiny_cnn --data images/ --val-split 0.2 --out cnn.keras     (your CNN plugin; a sub-folder per class)
      kzoo train text_model --data reviews.csv --target label --out t.keras  (your text model plugin; the text tokenized)
      kzoo train mlp --weights digits --data my.csv --target label --freeze --out ft.keras
      kzoo train mobilenet_v3_small --data photos/ --set input_shape=96,96,3 --weights imagenet --freeze --out s1.keras
      kzoo train mobilenet_v3_small --data photos/ --set input_shape=96,96,3 --weights s1.keras --unfreeze-top 20 \\
          --learning-rate 1e-4 --out s2.keras                                (transfer learning, second stage)
    """
    flags = {name: value for name, value in locals().items() if name != "model"}  # every flag, by name
    from .. import train

    options, reading, config = options_from_flags(**flags)
    if not quiet:
        show_log()
    result = train(model, data, config, options, reading)
    model = result.metadata.get("model", model)
    if quiet:
        return
    metrics = " ".join(f"{k}={v:.4f}" for k, v in sorted(result.metrics.items()))
    click.echo(f"{model}: {result.epochs} epochs, {metrics}")
    for path in (out, metrics_out, plot) if result.chief else ():
        if path:
            click.echo(f"wrote {path}")
    if not result.chief and (out or metrics_out or plot):
        click.echo("not the chief worker: the chief writes the output files")
    click.echo(result.stop_reason)  # the log's last line says why training ended


def options_from_flags(*, inputs, samples, skip_bad_files, target, assignments, standardize, task, na_values, drop,
                       quiet, data=None, **train_flags) -> tuple[TrainOptions, DataOptions, dict]:
    """``(TrainOptions, DataOptions, config)`` from ``kzoo train``'s flags (and ``kzoo tune``'s, which
    reuses them): every flag checked here; kzoo checks the rest before any data is read."""
    options = TrainOptions(**train_flags,
                           verbose=0 if quiet else (1 if sys.stdout.isatty() else 2))  # a log gets one plain line per epoch
    reading = DataOptions(target=target, inputs=parse_inputs(inputs), standardize=standardize, samples=samples,
                          skip_bad_files=skip_bad_files, task=task, drop=drop,
                          na_values=None if na_values is None else tuple(v.strip() for v in na_values.split(",")))
    return options, reading, parse_assignments(assignments)


@click.command("evaluate")
@click.argument("model_file", metavar="MODEL", type=click.Path(dir_okay=False))
@data_options
@click.option("--target", multiple=True, metavar="COL", help="Target column(s); default: the ones used in training.")
@click.option("--unsafe", is_flag=True, help="Load with Keras's safe_mode off (runs code stored in the file: trusted files only).")
@click.option("--json", "as_json", is_flag=True, help="Print metrics as JSON.")
def evaluate_command(model_file, data, inputs, samples, skip_bad_files, target, unsafe, as_json) -> None:
    """Evaluate a saved model (a .keras file or a weights name) on data shaped the way it was trained.

    \b
    Examples:
      kzoo evaluate m.keras --data digits
      kzoo evaluate two_input_mlp.digits --data digits
      kzoo evaluate m.keras --data my.csv --target species --json
    """
    from .. import evaluate

    metrics = evaluate(model_file, data, target, parse_inputs(inputs), safe_mode=not unsafe, samples=samples,
                       skip_bad_files=skip_bad_files)
    if as_json:
        echo_json(metrics)
    else:
        echo_table(["metric", "value"], [[k, f"{v:.6g}"] for k, v in sorted(metrics.items())])


@click.command("predict")
@click.argument("model_file", metavar="MODEL", type=click.Path(dir_okay=False))
@data_options
@click.option("-o", "--out", type=click.Path(), default=None, help="Write predictions CSV here (default: stdout).")
@click.option("--unsafe", is_flag=True, help="Load with Keras's safe_mode off (trusted files only).")
def predict_command(model_file, data, inputs, samples, skip_bad_files, out, unsafe) -> None:
    """Predict with a saved model (a .keras file or a weights name such as mlp.iris); one CSV row per sample.

    Classifiers give the class and each class's probability; target columns in the data are ignored.
    For an image folder or file, each row also names its image's path.

    \b
    Examples:
      kzoo predict m.keras --data new.csv --out predictions.csv
      kzoo predict cnn.keras --data photos/ --out predictions.csv
      kzoo predict m.keras --data digits | head
    """
    if out:
        check_writable(out, make_folders=False)
        check_distinct({option("out"): out}, {"model": model_file, option("data"): data})
    from .. import predict

    header, rows = predict(model_file, data, parse_inputs(inputs), safe_mode=not unsafe, samples=samples,
                           skip_bad_files=skip_bad_files)
    if out:
        write_csv(out, header, rows)
        click.echo(f"wrote {len(rows)} predictions to {out}", err=True)
    else:
        click.echo(csv_text(header, rows), nl=False)


@click.command("datasets")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of data sets.")
def datasets_command(as_json) -> None:
    """List the named data sets (from plugins), plus 'synthetic'.

    \b
    Examples:
      kzoo datasets
      kzoo train mlp --data wine --val-split 0.2
    """
    from ..datasets import get_dataset, list_datasets

    found = [get_dataset(name) for name in list_datasets()]
    if as_json:
        echo_json([d.to_dict() for d in found])
        return
    rows = [[d.name, d.task, d.samples or "-", d.features or "-", d.classes or "-", d.plugin, d.description] for d in found]
    echo_table(["name", "task", "samples", "features", "classes", "plugin", "description"], rows, max_last=90)
