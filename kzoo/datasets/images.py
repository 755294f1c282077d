"""Image folders as tables: one sub-folder per class, as ``keras.utils.image_dataset_from_directory``
expects, or a folder (or one file) of unlabelled images to predict on.

Images are decoded with Pillow, converted to the input's channel count (1: grey, 3: RGB,
4: RGBA) and resized (bilinear, as Keras does) to its height and width. Pixels stay 0..255
floats, Keras's convention: a model that wants 0..1 starts with ``keras.layers.Rescaling(1/255)``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._meta.spec import TensorSpec
from .._system.limits import check_allocation
from ..errors import CsvNote, DataError, option, outside_kzoo
from .table import Table, encode_labels

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def is_image_source(source: str) -> bool:
    return os.path.isdir(source) or source.lower().endswith(IMAGE_SUFFIXES)


def image_input(inputs: Sequence[TensorSpec], model: str) -> TensorSpec:
    """The one input images feed: shape (height, width, channels) with 1, 3 or 4 channels."""
    found = [t for t in inputs if len(t.shape) == 3 and not t.is_integer]
    if len(found) != 1 or len(inputs) != 1:
        shapes = ", ".join(f"{t.name} {list(t.shape)}" for t in inputs)
        raise DataError(
            f"image folders feed models with one image input of shape (height, width, channels); "
            f"model {model!r} has {shapes}. Use a CSV or NPZ file for it."
        )
    (spec,) = found
    height, width, channels = spec.shape
    if height is None or width is None or channels not in MODES:
        raise DataError(
            f"input {spec.name!r} of model {model!r} has shape {list(spec.shape)}; reading images needs a fixed "
            f"height and width and 1, 3 or 4 channels (set them with {option('config')}, e.g. {option('config')} input_shape=32,32,3)."
        )
    return spec


def read_images(
    source: str,
    spec: TensorSpec,
    class_names: Sequence[str] | None = None,
    require_labels: bool = True,
    skip_bad_files: bool = False,
) -> Table:
    """A table of flattened pixels (one row per image) with class labels from the sub-folders."""
    root = Path(source)
    if not root.exists():
        raise DataError(f"no image folder or file at {source!r}; check the path.")
    files, labels = _listing(root, require_labels)
    if not root.is_file():  # as Keras's loader does: only files named like images (notes.txt is no sample)
        chosen = [i for i, path in enumerate(files) if path.suffix.lower() in IMAGE_SUFFIXES]
        if len(chosen) < len(files):
            other = next(str(path) for path in files if path.suffix.lower() not in IMAGE_SUFFIXES)
            warnings.warn(CsvNote(f"{source!r}: left out {len(files) - len(chosen)} file(s) whose names are not "
                                  f"images' ({', '.join(IMAGE_SUFFIXES)}), such as {other}"), stacklevel=outside_kzoo())
            files = [files[i] for i in chosen]
            labels = None if labels is None else [labels[i] for i in chosen]
    if not files:
        raise DataError(
            f"{source!r} holds no image files; expected one sub-folder per class with images inside "
            f"(e.g. {source}/cat/1.png, {source}/dog/2.png)."
        )
    height, width, channels = spec.shape
    check_allocation(len(files) * int(height) * int(width) * int(channels) * 4 * 2,  # the images, then stacked
                     f"{len(files)} image(s) at the model's {height}x{width}x{channels} input",
                     f"give the model a smaller input ({option('config')} input_shape=H,W,C) or read fewer images.")
    pixels: list[np.ndarray] = []
    kept: list[int] = []
    bad: list[str] = []
    sizes: set[tuple[int, int]] = set()
    for i, path in enumerate(files):
        try:
            array, size = _decode(path, int(width), int(height), MODES[int(channels)])  # type: ignore[arg-type]
            pixels.append(array)
            sizes.add(size)
            kept.append(i)
        except Exception as exc:  # any decoding failure names the file
            if not skip_bad_files:
                raise DataError(
                    f"{path}: not a readable image ({type(exc).__name__}: {exc}); remove it, or pass "
                    f"{option('skip_bad_files')} to leave such files out."
                ) from None
            bad.append(str(path))
    if bad:
        warnings.warn(f"skipped {len(bad)} file(s) that are not readable images, such as {bad[0]}", UserWarning, stacklevel=outside_kzoo())
    if not pixels:
        raise DataError(f"{source!r}: none of its {len(files)} file(s) is a readable image.")
    if len(sizes) == 1 and sizes != {(int(width), int(height))}:  # one size of their own (photos vary: no note)
        (w, h), = sizes
        warnings.warn(CsvNote(f"{source!r}: its {len(pixels)} image(s) are {w}x{h}, resized to the model's {width}x"
                              f"{height} input (what its exports take too); to keep their size, train with "
                              f"{option('config')} input_shape={h},{w},{channels}"),
                      stacklevel=outside_kzoo())
    features = np.stack(pixels).reshape(len(pixels), -1)
    table = Table(features=features, feature_names=[], source=source, paths=[str(files[i]) for i in kept])
    if labels is not None:
        table.target, table.class_names = encode_labels(np.array([labels[i] for i in kept]), class_names)
    return table


def _listing(root: Path, require_labels: bool) -> tuple[list[Path], list[str] | None]:
    """Files to read and their class (the sub-folder's name), or no classes for a flat folder."""
    if root.is_file():
        return [root], None
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if folders:
        files, labels = [], []
        for folder in folders:
            for path in sorted(folder.rglob("*")):
                if path.is_file() and not path.name.startswith("."):
                    files.append(path)
                    labels.append(folder.name)
        return files, labels
    files = sorted(p for p in root.iterdir() if p.is_file() and not p.name.startswith("."))
    if require_labels and files:
        raise DataError(
            f"{str(root)!r} holds images but no class sub-folders; to train or evaluate, put each class's "
            f"images in a folder named after it (e.g. {root}/cat/1.png)."
        )
    return files, None


def _decode(path: Path, width: int, height: int, mode: str) -> tuple[np.ndarray, tuple[int, int]]:
    """The image's pixels at ``width`` x ``height``, and its own size (width, height)."""
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(path) as image:
            size = image.size
            image = image.convert(mode)
            if image.size != (width, height):
                image = image.resize((width, height), Image.BILINEAR)
            array = np.asarray(image, dtype="float32")
    return array.reshape(height, width, len(mode)), size
