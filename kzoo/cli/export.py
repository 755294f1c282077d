"""``kzoo export``: a model for deployment as SavedModel, LiteRT or ONNX, checked by running it
(a thin shell over :func:`kzoo.export_model`)."""

from __future__ import annotations

import click

from .plumbing import MAX_EXPORT_SAMPLES as MAX_SAMPLES


@click.command("export")
@click.argument("model")
@click.option("-f", "--format", "fmt", required=True, metavar="FORMAT", help="saved_model, litert or onnx.")
@click.option("-o", "--out", "--output", "output", required=True, type=click.Path(), metavar="PATH",
              help="Where to write: a folder (saved_model), a .tflite file (litert) or a .onnx file "
                   "(onnx); -o/--out as in train and predict.")
@click.option("--samples", type=click.IntRange(1, MAX_SAMPLES), default=8, show_default=True,
              help=f"Generated samples the check runs (1..{MAX_SAMPLES}).")
@click.option("--unsafe", is_flag=True, help="Load with Keras's safe_mode off (trusted files only).")
def export_command(model: str, fmt: str, output: str, samples: int, unsafe: bool) -> None:
    """Export MODEL (a .keras file or a weights name such as mlp.iris) to FORMAT.

    The exported file is run with its own runtime (TensorFlow, the LiteRT interpreter,
    onnxruntime) on raw training rows recorded in the model (generated inputs for models that
    did not train on a table); a difference from Keras above 1e-4 is an error and nothing is
    written. A model trained on a table also gets PATH.inputs.json beside it: its input
    columns, class names, and the vocabularies of categorical columns, which the exported file
    takes as indices. LiteRT and ONNX need `pip install "kzoo[export]"`.

    \b
    Examples:
      kzoo export mlp.iris --format onnx -o mlp.onnx
      kzoo export ft.keras --format litert -o ft.tflite
      kzoo export two_input_mlp.digits --format saved_model -o two_input/
    """
    from .. import export_model

    result = export_model(model, fmt, output, samples=samples, safe_mode=not unsafe)
    click.echo(f"exported {model} to {result.path} ({fmt}); largest difference from Keras on "
               f"{result.samples} {result.checked_on}: {result.max_abs_diff:.3g}")
    if result.inputs_file:
        click.echo(f"wrote {result.inputs_file}: the inputs it takes, class names and vocabularies")
    if result.encode and result.encoding == "token ids":
        click.echo(f"note: the exported model takes text inputs {', '.join(result.encode)} as token ids, not text "
                   f"(ONNX and LiteRT cannot look strings up); tokenize as {result.inputs_file} says, with its "
                   f"vocabularies")
    elif result.encode:
        click.echo(f"note: the exported model takes columns {', '.join(result.encode)} as vocabulary indices, "
                   f"not strings (ONNX and LiteRT cannot look strings up); encode them with the vocabularies "
                   f"in {result.inputs_file}")
