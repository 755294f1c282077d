"""Exporting a model for deployment (SavedModel, LiteRT, ONNX) through Keras 3's ``Model.export``,
then running the exported file with its own runtime to prove it computes what Keras computes.

The input signature comes from the model's named inputs, so the exported file's inputs carry
the names kzoo and the data use. The artifact is written in a temporary folder beside the target
and moved into place only after it ran within tolerance: a failed export leaves nothing behind.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .._engine import wrapping
from .._engine.options import MAX_EXPORT_SAMPLES
from .._meta.spec import TensorSpec
from .._system import backend
from .._system.files import write_text
from .._system.quiet import captured_stderr
from ..datasets.preprocess import NUMERIC_INPUT, from_examples, lookup
from ..datasets.synthetic import synthetic_data
from ..errors import ConfigError, DataError, KzooError, MissingToolError, close_matches
from .inference import open_model

TOLERANCE = 1e-4
SAMPLES = 8
INSTALL = 'pip install "kzoo[export]"'
#: kzoo's format name -> (Keras's format name, the file suffix it needs or None for a folder,
#: the modules exporting and running it need)
FORMATS: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    "saved_model": ("tf_saved_model", None, ()),
    "litert": ("litert", ".tflite", ("ai_edge_litert",)),
    "onnx": ("onnx", ".onnx", ("tf2onnx", "onnx", "onnxruntime")),
}


@dataclass(frozen=True)
class ExportResult:
    """Where the artifact went and how far its outputs are from the Keras model's. For a model
    trained on a table: ``inputs_file`` describes the artifact's inputs (columns, vocabularies,
    class names; a text model's vocabularies and tokenizing rule) and ``encode`` names the columns
    (or text inputs) a caller must turn into vocabulary indices (or token ids: ``encoding``)."""

    path: str
    format: str
    max_abs_diff: float
    samples: int
    inputs_file: str | None = None
    encode: tuple[str, ...] = ()
    checked_on: str = "generated samples"
    encoding: str = "vocabulary indices"
    """What ``encode``'s columns or inputs become: ``"vocabulary indices"`` (a table's categories)
    or ``"token ids"`` (a text input)."""


def export(model: str | os.PathLike[str], format: str, path: str | os.PathLike[str], *, samples: int = SAMPLES,
           seed: int = 0, tolerance: float = TOLERANCE, safe_mode: bool = True) -> ExportResult:
    """Export ``model`` (a ``.keras`` file saved by kzoo, or registered weights such as
    ``mlp.iris``) to ``path`` in ``format``, run the artifact on ``samples`` generated inputs and
    return the largest absolute difference from Keras; above ``tolerance`` it is an error. A model
    trained in mixed precision is exported computing in float32 (ONNX Runtime, for one, has no
    bfloat16 matrix product), and checked against itself loaded that way.

    Args:
        model: a ``.keras`` file saved by kzoo, or a registered weights name (``kzoo.list_weights()``).
        format: ``"saved_model"`` (a folder), ``"litert"`` (``.tflite``) or ``"onnx"`` (``.onnx``).
        path: where the artifact goes; written all or nothing, never over a folder of other files.
        samples: generated inputs the check runs on (a model trained on a table is checked on the
            raw training rows its file recorded instead).
        seed: the generated inputs' seed.
        tolerance: the largest difference from Keras accepted, absolute for outputs up to 1 and
            relative to the largest output above that (float32 round-off grows with the values).
        safe_mode: Keras's safe mode for loading the file (no arbitrary code from lambdas).

    Returns:
        An :class:`ExportResult`: ``path``, ``format``, ``max_abs_diff``, ``samples``, and for a
        model trained on a table ``inputs_file`` (how to feed the artifact) and ``encode``.

    Raises:
        kzoo.ConfigError: an unknown format, one this backend cannot export, or bad ``samples``;
        kzoo.MissingToolError: the format's libraries are not installed (``pip install "kzoo[export]"``);
        kzoo.KzooError: Keras cannot export the model, or the artifact's outputs are further than
            ``tolerance`` from Keras's (nothing is written).

    Example::

        result = kzoo.export_model("iris.keras", "onnx", "iris.onnx")
        print(result.max_abs_diff)
    """
    check_format(format)
    check_format_backend(format)
    if not (isinstance(samples, int) and not isinstance(samples, bool) and 1 <= samples <= MAX_EXPORT_SAMPLES):
        raise ConfigError(f"samples={samples!r}: expected a whole number of generated samples in 1..{MAX_EXPORT_SAMPLES}.")
    target = check_target(path, format)
    check_dependencies(format)
    saved = open_model(model, safe_mode, precision="float32")  # a mixed model exports in float32: every runtime runs it
    if saved.plan is not None:
        return export_trained(saved, format, target, tolerance=tolerance)
    if (saved.metadata.get("data") or {}).get("text"):
        return export_text(saved, format, target, samples=samples, seed=seed, tolerance=tolerance)
    image = _image_input(saved)
    if image is not None:
        return export_images(saved, image, format, target, samples=samples, seed=seed, tolerance=tolerance)
    return export_keras(saved.model, saved.builder.input_specs(saved.config), saved.builder.output_specs(saved.config),
                        format, target, samples=samples, seed=seed, tolerance=tolerance)


def export_trained(saved: Any, format: str, target: Path, tolerance: float = TOLERANCE) -> ExportResult:
    """A model trained on a table, checked on raw training rows recorded in its ``kzoo.json``:
    the artifact (the ``core``: numbers and vocabulary indices) must give what the whole trained
    model gives on the raw strings. Beside it, ``<path>.inputs.json`` says how to feed it."""
    plan = saved.plan
    numeric, categorical = from_examples(plan, saved.metadata["data"].get("examples") or {})
    expected = wrapping.predict(saved.model, plan, numeric, categorical)
    x = {NUMERIC_INPUT: numeric, **lookup(plan, categorical)} if plan.numeric else lookup(plan, categorical)
    inputs = ([TensorSpec(NUMERIC_INPUT, (len(plan.numeric),))] if plan.numeric else []) + [
        TensorSpec(cat["input"], (1,), dtype="int32") for cat in plan.categorical]
    outputs = [TensorSpec.from_dict(o) for o in plan.outputs]
    result = export_keras(wrapping.core_of(saved.model, plan), inputs, outputs, format, target, x=x,
                          expected=expected, tolerance=tolerance)
    sidecar = write_inputs_file(target, saved, outputs, task=plan.task, inputs={
        NUMERIC_INPUT: {"columns": plan.numeric, "dtype": "float32", "missing": "NaN"} if plan.numeric else None,
        **{cat["input"]: {"column": cat["column"], "dtype": "int32", "vocabulary": cat["vocabulary"],
                          "index": "1 + the value's position in vocabulary; 0 for a missing, rare or unseen value"}
           for cat in plan.categorical}})
    return replace(result, inputs_file=sidecar, encode=tuple(cat["column"] for cat in plan.categorical),
                   checked_on="raw training rows")


def write_inputs_file(target: Path, saved: Any, outputs: Sequence[TensorSpec], inputs: Mapping[str, Any],
                      **facts: Any) -> str:
    """``<target>.inputs.json``, beside an export: how to feed each input (``inputs``), the
    outputs by name and the class names the model's ``kzoo.json`` recorded. Its path."""
    data = saved.metadata.get("data") or {}
    sidecar = Path(f"{target}.inputs.json")
    write_text(sidecar, json.dumps({
        "model": saved.metadata.get("model"), **facts, "inputs": dict(inputs), "outputs": [o.name for o in outputs],
        "class_names": data.get("class_names"), "target_classes": data.get("target_classes") or {}}, indent=1) + "\n")
    return str(sidecar)


TOKENIZE = ("lowercase, strip punctuation (Keras TextVectorization's lower_and_strip_punctuation), split on "
            "whitespace; each word's id is its position in vocabulary (0 pads, 1 is any word not in it); cut or "
            "padded with 0 at the end to length words")
"""How a text becomes an exported text model's input, as :mod:`kzoo.datasets.text` tokenizes it."""

UNSEEN_WORD = "qqunseenqq"


def raw_texts(vocabulary: Sequence[str], n: int, seed: int) -> list[str]:
    """``n`` texts of the vocabulary's words as people write them (capitals, punctuation) and
    one word outside it: what a text model's export is checked on, through kzoo's tokenizer."""
    import numpy as np

    words = [w for w in vocabulary[2:] if w] or [UNSEEN_WORD]
    rng = np.random.default_rng(seed)
    texts = []
    for i in range(n):
        chosen = [str(w) for w in rng.choice(words, size=int(rng.integers(1, 12)))]
        chosen[0] = chosen[0].capitalize()
        chosen.insert(int(rng.integers(0, len(chosen) + 1)), UNSEEN_WORD if i % 2 else UNSEEN_WORD.upper() + ",")
        texts.append(" ".join(chosen) + ("!" if i % 3 == 0 else "."))
    return texts


def export_text(saved: Any, format: str, target: Path, *, samples: int, seed: int,
                tolerance: float = TOLERANCE) -> ExportResult:
    """A model trained on text: checked on raw texts tokenized as kzoo tokenizes them (with the
    vocabulary and length its ``kzoo.json`` recorded), against the Keras model on the same texts.
    The artifact takes token ids; ``<path>.inputs.json`` beside it holds each text input's
    vocabulary, length and the rule (:data:`TOKENIZE`) that makes ids of a text."""
    from ..datasets.text import vectorize

    inputs, outputs = saved.builder.input_specs(saved.config), saved.builder.output_specs(saved.config)
    text = saved.metadata["data"]["text"]
    x, _ = synthetic_data(inputs, outputs, n=samples, seed=seed)  # any input that is not text
    x.update({name: raw_texts(state["vocabulary"], samples, seed + i) for i, (name, state) in enumerate(text.items())})
    vectorize(x, inputs, None, text)
    result = export_keras(saved.model, inputs, outputs, format, target, x=x, tolerance=tolerance)
    sidecar = write_inputs_file(target, saved, outputs, inputs={
        spec.name: ({"text": True, "dtype": spec.dtype, "length": text[spec.name]["length"], "tokenize": TOKENIZE,
                     "vocabulary": text[spec.name]["vocabulary"]} if spec.name in text
                    else {"shape": list(spec.shape), "dtype": spec.dtype}) for spec in inputs})
    return replace(result, inputs_file=sidecar, encode=tuple(text), checked_on="raw texts, tokenized by kzoo",
                   encoding="token ids")


def _image_input(saved: Any) -> TensorSpec | None:
    """The one image input of ``saved``'s model (what kzoo's image reader feeds), or None."""
    from ..datasets.images import image_input

    try:
        return image_input(saved.builder.input_specs(saved.config), saved.builder.spec.name)
    except DataError:
        return None


def export_images(saved: Any, spec: TensorSpec, format: str, target: Path, *, samples: int, seed: int,
                  tolerance: float = TOLERANCE) -> ExportResult:
    """A model of one image input: checked on image files (generated: smooth colours, twice the input's size)
    decoded and resized by kzoo's image reader, as ``kzoo predict`` reads a folder. Beside the
    artifact, ``<path>.inputs.json`` says how a file becomes its input: the size, the channels,
    the resize and the pixel range."""
    import numpy as np
    from PIL import Image

    from ..datasets.images import MODES, read_images

    height, width, channels = spec.shape
    outputs = saved.builder.output_specs(saved.config)
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as folder:
        for i in range(samples):  # smooth like a photo: a 4x4 colour grid blown up (pixel noise is no image)
            grid = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
            photo = Image.fromarray(grid, "RGB").resize((2 * width, 2 * height), Image.BILINEAR)
            photo.save(Path(folder) / f"{i:04d}.png")
        with warnings.catch_warnings():  # the resize note: resizing is what is checked here
            warnings.simplefilter("ignore")
            table = read_images(folder, spec, require_labels=False)
    x = {spec.name: np.asarray(table.features, "float32").reshape(samples, height, width, channels)}
    result = export_keras(saved.model, [spec], outputs, format, target, x=x, tolerance=tolerance)
    sidecar = write_inputs_file(target, saved, outputs, inputs={spec.name: {
        "image": True, "shape": [height, width, channels], "dtype": "float32",
        "channels": {"L": "grey", "RGB": "RGB", "RGBA": "RGBA"}[MODES[channels]],
        "resize": f"bilinear (Pillow's Image.BILINEAR) to {width}x{height}, whatever the file's own size",
        "pixels": "0..255 as float32, not rescaled (the model rescales, if it does)"}})
    return replace(result, inputs_file=sidecar, checked_on="image files, decoded and resized by kzoo")


def export_keras(net: Any, inputs: Sequence[TensorSpec], outputs: Sequence[TensorSpec], format: str,
                 path: str | os.PathLike[str], *, samples: int = SAMPLES, seed: int = 0,
                 tolerance: float = TOLERANCE, x: Mapping[str, Any] | None = None,
                 expected: Mapping[str, Any] | None = None) -> ExportResult:
    """:func:`export` for a ``keras.Model`` whose inputs and outputs ``inputs``/``outputs`` describe,
    checked on ``x`` (default: ``samples`` generated inputs) against ``expected`` (default: ``net``'s
    own outputs on ``x``)."""
    import numpy as np

    check_format(format)
    check_format_backend(format)
    target = check_target(path, format)
    check_dependencies(format)
    if x is None:
        x, _ = synthetic_data(inputs, outputs, n=samples, seed=seed)
    samples = len(next(iter(x.values())))
    if expected is None:
        expected = wrapping.by_name(net.predict(_positional(net, x, inputs), verbose=0), [o.name for o in outputs])
    keras_format, suffix, _ = FORMATS[format]
    staging = _staging_dir(target)
    try:
        artifact = staging / f"model{suffix or ''}"
        try:
            with warnings.catch_warnings():  # Keras's tf2onnx shim warns about numpy internals
                warnings.simplefilter("ignore", FutureWarning)
                net.export(str(artifact), format=keras_format, input_signature=signature(net, inputs), verbose=False)
        except Exception as exc:
            raise KzooError(f"Keras could not export {net.name!r} as {format}: {_first_line(exc)}") from None
        got = RUNNERS[format](str(artifact), x)
        got = _match_outputs(got, expected)
        diff = max(float(np.max(np.abs(np.asarray(got[k], "float64") - np.asarray(v, "float64")))) for k, v in expected.items())
        # float32 keeps about 7 digits: a regressor answering in grams (4,000) differs by 2e-4 from
        # round-off alone, so the tolerance scales with outputs larger than 1.
        allowed = tolerance * max(1.0, max(float(np.max(np.abs(np.asarray(v, "float64")))) for v in expected.values()))
        if not diff <= allowed:
            raise KzooError(f"the {format} export of {net.name!r} differs from the Keras model by {diff:.3g} "
                            f"(more than {allowed:g}) on {samples} samples; nothing was written.")
        if target.exists() and target.is_file():
            target.unlink()
        os.replace(artifact, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(str(target), format, diff, samples)


# -- checks, before any work ------------------------------------------------------------------------
def check_format(format: str) -> None:
    if format not in FORMATS:
        hints = close_matches(format, FORMATS)
        hint = f" Did you mean {hints[0]}?" if hints else ""
        raise ConfigError(f"unknown export format {format!r}.{hint} Expected one of: {', '.join(FORMATS)}.")


def check_format_backend(format: str) -> None:
    """Exports run on TensorFlow: Keras builds every format through ``tf.function`` signatures
    (``tf_saved_model`` and LiteRT directly, ONNX through tf2onnx) and kzoo checks SavedModels
    with TensorFlow. A ``.keras`` file is the same on every backend, so the fix is one flag."""
    if backend.name() != "tensorflow":
        raise ConfigError(f"exporting to {format} runs on the TensorFlow backend, and Keras runs on "
                          f"{backend.name()!r} here; rerun as `kzoo --backend tensorflow export ...` (in Python, set "
                          f"KERAS_BACKEND=tensorflow before Keras is first imported).")


def check_dependencies(format: str) -> None:
    missing = [m for m in FORMATS[format][2] if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingToolError(f"exporting to {format} needs {', '.join(missing)}, which is not installed; "
                               f"run: {INSTALL}")


def check_target(path: str | os.PathLike[str], format: str) -> Path:
    """The output path, checked: the suffix the format needs, a folder that can be written,
    and for a SavedModel folder, nothing there yet (kzoo does not delete folders)."""
    target = Path(path)
    suffix = FORMATS[format][1]
    if suffix and target.suffix.lower() != suffix:
        raise ConfigError(f"a {format} export must be written to a {suffix} file, not {str(target)!r}; "
                          f"e.g. -o model{suffix}.")
    if target.is_dir() and (suffix or any(target.iterdir())):
        raise ConfigError(f"{str(target)!r} is a folder that is not empty; pick a new path for the {format} export.")
    if suffix is None and target.is_file():
        raise ConfigError(f"{str(target)!r} is a file; a SavedModel is a folder: pick a new path.")
    folder = target.parent
    blocker = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise ConfigError(f"cannot write the {format} export to {str(target)!r}: {str(blocker)!r} is a file, "
                          f"not a folder; pick another path.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        writable = os.access(folder, os.W_OK)
    except OSError as exc:
        writable, reason = False, exc.strerror or str(exc)
    else:
        reason = "permission denied"
    if not writable:
        raise ConfigError(f"cannot write the {format} export to {str(target)!r}: {reason}; pick another path.")
    _staging_dir(target).rmdir()  # some folders (/proc) pass every check and still refuse a new entry
    return target


def _staging_dir(target: Path) -> Path:
    try:
        return Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    except OSError as exc:
        raise ConfigError(f"cannot write to {str(target.parent)!r}: {exc.strerror or exc}; pick another path.") from None


# -- signature and inputs ---------------------------------------------------------------------------
def signature(net: Any, inputs: Sequence[TensorSpec]) -> list[Any]:
    """Keras's ``input_signature``: one ``tf.TensorSpec`` per named input, batch size free,
    arranged as the model takes them (one tensor, a list, or a dict keyed by name)."""
    import tensorflow as tf

    specs = {t.name: tf.TensorSpec((None, *t.shape), tf.as_dtype(t.dtype), name=t.name) for t in inputs}
    struct = getattr(net, "_inputs_struct", None)
    if isinstance(struct, Mapping):
        return [specs]
    if len(specs) == 1:
        return [next(iter(specs.values()))]
    return [[specs[t.name] for t in inputs]]


def _positional(net: Any, x: Mapping[str, Any], inputs: Sequence[TensorSpec]) -> Any:
    if isinstance(getattr(net, "_inputs_struct", None), Mapping):
        return dict(x)
    return x[inputs[0].name] if len(inputs) == 1 else [x[t.name] for t in inputs]


def _match_outputs(got: Mapping[str, Any], expected: Mapping[str, Any]) -> dict[str, Any]:
    """The artifact's outputs keyed like Keras's: by name, or by position for a single output."""
    if set(expected) <= set(got):
        return {k: got[k] for k in expected}
    if len(got) == len(expected) == 1:
        return {next(iter(expected)): next(iter(got.values()))}
    raise KzooError(f"the exported model's outputs {sorted(got)} do not match the model's {sorted(expected)}.")


def _feed(names: Sequence[str], x: Mapping[str, Any]) -> dict[str, Any]:
    if set(names) <= set(x):
        return {n: x[n] for n in names}
    if len(names) == len(x) == 1:
        return {names[0]: next(iter(x.values()))}
    raise KzooError(f"the exported model's inputs {list(names)} do not match the model's {sorted(x)}.")


# -- runtimes ---------------------------------------------------------------------------------------
def run_saved_model(path: str, x: Mapping[str, Any]) -> dict[str, Any]:
    import tensorflow as tf

    serve = tf.saved_model.load(path).signatures["serving_default"]
    names = list(serve.structured_input_signature[1])
    return {k: v.numpy() for k, v in serve(**{k: tf.constant(v) for k, v in _feed(names, x).items()}).items()}


def run_litert(path: str, x: Mapping[str, Any]) -> dict[str, Any]:
    from ai_edge_litert.interpreter import Interpreter

    with captured_stderr():  # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
        interpreter = Interpreter(model_path=path)
        (key,) = list(interpreter.get_signature_list())[:1]
        runner = interpreter.get_signature_runner(key)
        names = interpreter.get_signature_list()[key]["inputs"]
        return dict(runner(**_feed(names, x)))


def run_onnx(path: str, x: Mapping[str, Any]) -> dict[str, Any]:
    import onnxruntime

    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    values = session.run(None, _feed(names, x))
    return dict(zip([o.name for o in session.get_outputs()], values))


RUNNERS: dict[str, Callable[[str, Mapping[str, Any]], dict[str, Any]]] = {
    "saved_model": run_saved_model, "litert": run_litert, "onnx": run_onnx,
}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0][:300] if text else type(exc).__name__)
