"""Text columns -> token ids for integer sequence inputs, with ``keras.layers.TextVectorization``.

The vocabulary is learnt from the training rows only (validation rows never leak into it) and
saved with the model, with the sequence length, so evaluate and predict tokenize new text the
same way. Ids stay below the input's declared ``range`` (an Embedding's ``input_dim``): 0 pads,
1 is any word outside the vocabulary. Keras (and TensorFlow, which the layer runs on) is
imported only when a table has text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._meta.spec import TensorSpec
from .._system.backend import is_tensorflow, name as backend_name
from ..errors import DataError, option
from .table import as_strings

#: Vocabulary size when the input declares no range (no Embedding to read it from).
DEFAULT_MAX_TOKENS = 20_000
#: The longest text an input of any length (shape ``(None,)``) is padded to: every text becomes
#: as long as the longest, so one 131,000-character cell would cost gigabytes in training.
MAX_SEQUENCE_LENGTH = 10_000


def vectorize(
    x: dict[str, np.ndarray],
    inputs: Sequence[TensorSpec],
    train_rows: np.ndarray | None,
    saved: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Replace each text array in ``x`` (strings, keyed by input name) by int32 token ids, in
    place. Returns what must be saved with the model: per input, its vocabulary and length."""
    by_name = {t.name: t for t in inputs}
    texts = [name for name, array in x.items() if np.asarray(array).dtype.kind in "USO"]
    if not texts:
        return {}
    if not is_tensorflow():
        raise DataError(f"text input {texts[0]!r} needs the TensorFlow backend: Keras's TextVectorization runs on "
                        f"TensorFlow, and on {backend_name()!r} kzoo never imports it; run with {option('backend')} tensorflow "
                        f"(KERAS_BACKEND=tensorflow).")
    saved = dict(saved or {})
    for name in texts:  # before keras: a text too long to pad to is the data's mistake
        if not saved.get(name):
            rows = as_strings(x[name])
            check_lengths(name, rows if train_rows is None else rows[train_rows], by_name[name])
    import keras

    state: dict[str, Any] = {}
    for name in texts:
        spec = by_name[name]
        strings = as_strings(x[name])
        known = saved.get(name)
        if known:
            vocabulary, length = list(known["vocabulary"]), int(known["length"])
        else:
            fit_on = strings if train_rows is None else strings[train_rows]
            vocabulary, length = _learn(keras, fit_on, spec)
        layer = keras.layers.TextVectorization(vocabulary=vocabulary[2:] if vocabulary[:2] == ["", "[UNK]"] else vocabulary,
                                               output_sequence_length=length)
        x[name] = np.asarray(layer(strings), dtype=spec.dtype)
        state[name] = {"vocabulary": vocabulary, "length": length}
    return state


def check_lengths(name: str, strings: np.ndarray, spec: TensorSpec) -> None:
    """Refuse, before tokenizing, texts too long to pad every row to (an input of any length
    takes the longest text's length); an input of fixed length cuts texts instead."""
    if spec.shape and spec.shape[0] is not None:
        return
    words = [len(s.split()) for s in strings.tolist()]
    longest = max(words, default=0)
    if longest > MAX_SEQUENCE_LENGTH:
        row = int(np.argmax(words))
        raise DataError(f"the text for input {name!r} holds {longest:,} words in row {row} (0-based), more than the "
                        f"{MAX_SEQUENCE_LENGTH:,} every row would be padded to; give the input a fixed length "
                        f"(shape (N,), texts are then cut to N words) or shorten the texts.")


def _learn(keras: Any, strings: np.ndarray, spec: TensorSpec) -> tuple[list[str], int]:
    high = spec.range[1] if spec.range else DEFAULT_MAX_TOKENS
    if high < 3:
        raise DataError(f"input {spec.name!r} takes ids below {high}: too few for a vocabulary (0 pads, 1 is unknown).")
    fixed = spec.shape[0]
    layer = keras.layers.TextVectorization(max_tokens=high, output_sequence_length=fixed)
    layer.adapt(strings)
    vocabulary = [str(v) for v in layer.get_vocabulary()]
    if len(vocabulary) <= 2:
        raise DataError(f"the text for input {spec.name!r} holds no words to learn a vocabulary from.")
    length = fixed if fixed is not None else int(np.asarray(layer(strings)).shape[1])
    return vocabulary, max(length, 1)
