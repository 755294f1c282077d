"""Architecture diagrams: Keras's ``plot_model`` with shapes, layer names and nested models expanded.

Needs pydot and Graphviz's ``dot`` program; :func:`check_tools` says exactly what to install
when either is missing, before any model is built.
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._system.files import atomic_output, image_format
from .._zoo.guard import build_checked
from ..errors import DiagramWarning, KzooError, MissingToolError, outside_kzoo
from . import api

if TYPE_CHECKING:  # pragma: no cover
    import keras

    from .._zoo.builder import ModelBuilder

DIAGRAM_FORMATS = ("png", "svg")
"""File suffixes :func:`plot_model` writes."""

DPI = 96  # Keras's default of 200 makes screen-filling PNGs of a five-layer MLP


def check_tools() -> None:
    """Raise :class:`MissingToolError` unless pydot imports and Graphviz's ``dot`` is on PATH."""
    try:
        import pydot  # noqa: F401
    except ImportError:
        raise MissingToolError(
            "drawing model diagrams needs the Python package pydot, which is not installed; "
            "install it with `pip install pydot`."
        ) from None
    if shutil.which("dot") is None:
        raise MissingToolError(
            "drawing model diagrams needs Graphviz's `dot` program, which is not on PATH; install "
            "Graphviz: `apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS), "
            "or see https://graphviz.org/download/."
        )


def plot_model(name_or_builder: str | ModelBuilder, path: str | os.PathLike[str], **config: Any) -> Path:
    """Draw model ``name_or_builder`` built with ``config`` to ``path`` (.png or .svg); returns ``path``.

    Shows each layer's name and shapes, with nested models (shared towers) expanded. A subclassed
    model is one node to Keras: a :class:`DiagramWarning` says so and names the functional twin
    (``api="functional"``) when the model has one. The file is written atomically.

    Args:
        name_or_builder: a registered model name, such as ``"mlp"``, or a builder.
        path: the file to write; its suffix (``.png`` or ``.svg``) picks the format.
        config: the model's config values (its defaults for the rest), checked as for training.

    Returns:
        ``path``, as a :class:`~pathlib.Path`.

    Raises:
        kzoo.ConfigError: another suffix, or a config value the model does not take.
        kzoo.UnknownModelError: no model is called ``name_or_builder``.
        kzoo.MissingToolError: pydot or Graphviz's ``dot`` is not installed (checked after the
            name and config, before building).

    Example:
        >>> kzoo.plot_model("mlp", "mlp.png", hidden_units=[32])  # doctest: +SKIP
        PosixPath('mlp.png')
    """
    path = Path(path)
    image_format(path, DIAGRAM_FORMATS, what="a model diagram")
    builder = api.get(name_or_builder) if isinstance(name_or_builder, str) else name_or_builder
    config = builder.config(**config)
    check_tools()  # after what the user typed: a misspelt name is the first thing to hear about
    model = build_checked(builder, config)
    if not is_graph_model(model):
        warnings.warn(_one_node_note(builder, config), DiagramWarning, stacklevel=outside_kzoo())
    draw(model, path)
    return path


def draw(model: keras.Model, path: str | os.PathLike[str]) -> Path:
    """Draw an already built ``keras.Model`` to ``path`` (.png or .svg), atomically."""
    import keras

    path = Path(path)
    image_format(path, DIAGRAM_FORMATS, what="a model diagram")
    check_tools()
    with atomic_output(path) as tmp:
        try:
            keras.utils.plot_model(
                model, to_file=str(tmp), show_shapes=True, show_layer_names=True, expand_nested=True, dpi=DPI
            )
        except ImportError as exc:  # Keras's own check, should ours ever pass while its fails
            raise MissingToolError(f"{exc} Install pydot (`pip install pydot`) and Graphviz "
                                   "(`apt-get install graphviz`).") from exc
        if tmp.stat().st_size == 0:
            raise KzooError(f"Graphviz wrote an empty {path.suffix} file for {model.name!r}; check `dot -V`.")
    return path


DRAW_ALL_MAX_PARAMS = 1_000_000
""":func:`draw_all` leaves out models with more parameters (by their spec, without building):
keras.applications' architectures have hundreds of layers, take 15-35 s each to draw and make a
picture nobody can read; ``kzoo plot NAME`` still draws any of them on demand."""


def draw_all(folder: str | os.PathLike[str], fmt: str = "png") -> list[Path]:
    """One diagram per built-in and plugin model of at most :data:`DRAW_ALL_MAX_PARAMS`
    parameters, ``<folder>/<name>.<fmt>``, with default configs.

    For the docs build. A model whose default build is subclassed is drawn as its functional twin
    when it has one, so the picture shows its layers.
    """
    if fmt not in DIAGRAM_FORMATS:
        raise KzooError(f"cannot draw diagrams as {fmt!r}; expected one of: {', '.join(DIAGRAM_FORMATS)}.")
    check_tools()
    paths = []
    for name in api.list_models():
        builder = api.get(name)
        if (builder.spec.params or 0) > DRAW_ALL_MAX_PARAMS:
            continue
        overrides = {}
        if builder.spec.default_config.get("api") == "subclass" and "functional" in builder.spec.apis:
            overrides["api"] = "functional"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DiagramWarning)
            path = Path(folder) / f"{name}.{fmt}"  # a prefixed name (kimm/resnet18) is drawn in its prefix's folder
            path.parent.mkdir(parents=True, exist_ok=True)
            paths.append(plot_model(builder, path, **overrides))
    return paths


def is_graph_model(model: keras.Model) -> bool:
    """True for Sequential and Functional models, whose layers Keras can draw one by one."""
    import keras

    try:
        from keras.src.models.functional import Functional
    except ImportError:  # pragma: no cover - a future Keras that moves it
        return type(model) is not keras.Model and hasattr(model, "_operations")
    return isinstance(model, (keras.Sequential, Functional))


def _one_node_note(builder: ModelBuilder, config: dict[str, Any]) -> str:
    name = builder.spec.name
    note = f"{name} with api={config.get('api', 'subclass')} is a subclassed Keras model: Keras draws it as one node."
    if "functional" in builder.spec.apis and "api" in config:
        return (f"{note} To see its layers, draw its functional twin: `kzoo plot {name} --set api=functional` "
                f"(api=\"functional\" in Python).")
    return f"{note} {name} has no functional twin to draw instead."
