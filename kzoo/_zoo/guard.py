"""Building a plugin's model without letting it take the caller down: a size estimate checked
against available memory first, and any exception from the build as one line naming the plugin,
the model and the error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from .._system.backend import missing_backend
from .._system.limits import check_allocation, max_params
from ..errors import ConfigError, DataError, KzooError, PluginError, option

if TYPE_CHECKING:  # pragma: no cover
    import keras

    from .._meta.spec import ModelSpec


class Buildable(Protocol):
    """What the guard needs of a builder (every ``kzoo.ModelBuilder`` is one). Named here so that
    the guard need not import the builder, which calls it."""

    @property
    def spec(self) -> ModelSpec: ...

    def build_model(self, config: Mapping[str, Any]) -> keras.Model: ...

    def build_backbone(self, config: Mapping[str, Any]) -> keras.Model: ...


# Weights, their gradients and Adam's two moments: four float32 copies of every parameter.
BYTES_PER_PARAM = 16
# Building alone peaks near that (initializers make temporaries), and the data needs memory too:
# a model may take at most half of what is available.
MODEL_SHARE = 0.5
_SIZE_WORDS = ("dim", "unit", "class", "size", "width", "filter", "channel", "hidden", "embed", "feature", "head")


def estimate_params(builder: Buildable, config: Mapping[str, Any]) -> int:
    """A rough parameter count from the config, before building: the builder's own
    ``estimate_params(config)`` if it has one, else size-like integers in config order treated as a
    chain of dense layers (what the built-in models are). Only used to refuse absurd sizes."""
    own = getattr(builder, "estimate_params", None)
    if callable(own):
        what = f"estimate_params of model {builder.spec.name!r} (plugin {builder.spec.plugin!r})"
        try:
            count = own(config)
        except (KzooError, KeyboardInterrupt):
            raise
        except BaseException as exc:  # SystemExit too: a plugin's bug is one line naming it
            raise PluginError(f"{what} failed: {describe_failure(exc)}") from None
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise PluginError(f"{what} returned {count!r:.60}; expected a whole number of parameters >= 0.")
        return count
    sizes: list[int] = []
    for key, value in config.items():
        if not any(word in key.lower() for word in _SIZE_WORDS):
            continue
        values = value if isinstance(value, (tuple, list)) else (value,)
        sizes += [int(v) for v in values if isinstance(v, int) and not isinstance(v, bool) and v > 0]
    if not sizes:
        return 0
    if len(sizes) == 1:
        return sizes[0]
    return sum(a * b + b for a, b in zip(sizes, sizes[1:]))


def check_model_size(builder: Buildable, config: Mapping[str, Any]) -> None:
    """Refuse, in one line, a config whose parameters cannot fit in memory."""
    params = estimate_params(builder, config)
    check_allocation(params * BYTES_PER_PARAM, f"model {builder.spec.name!r} with about {params:,} parameters",
                     f"choose smaller sizes with {option('config')}.", share=MODEL_SHARE)
    cap = max_params()
    if params > cap:
        raise DataError(f"model {builder.spec.name!r} would have about {params:,} parameters, more than the {cap:,} "
                        f"kzoo builds (KZOO_MAX_PARAMS); choose smaller sizes with {option('config')}, or raise the "
                        f"limit for a model that is meant to be this big.")


def check_backend(spec: ModelSpec) -> None:
    """Refuse, in one line and before anything is built, a model on a Keras backend its plugin
    does not support (``@kzoo.model(backends=("tensorflow",))``: a TensorFlow-only train_step)."""
    supported = tuple(getattr(spec, "backends", ()) or ())
    if not supported:
        return
    from .._system.backend import name

    current = name()
    if current not in supported:
        raise ConfigError(f"model {spec.name!r} (plugin {spec.plugin!r}) runs on the {' or '.join(supported)} backend, "
                          f"not {current!r}; run it with {option('backend')} {supported[0]} "
                          f"(KERAS_BACKEND={supported[0]}).")


def build_checked(builder: Buildable, config: Mapping[str, Any], backbone: bool = False) -> keras.Model:
    """``builder.build_model(config)`` (``build_backbone`` with ``backbone``) after the backend and
    size checks; a failure is a PluginError naming the plugin, the model and the error (kzoo
    errors and Ctrl-C pass through unchanged)."""
    check_backend(builder.spec)
    check_model_size(builder, config)
    try:
        return builder.build_backbone(config) if backbone else builder.build_model(config)
    except (KzooError, KeyboardInterrupt):
        raise
    except MemoryError:
        raise PluginError(f"model {builder.spec.name!r} of plugin {builder.spec.plugin!r} ran out of memory while "
                          f"building; choose smaller sizes with {option('config')}.") from None
    except BaseException as exc:  # SystemExit too: sys.exit in a build function is the plugin's bug
        missing = missing_backend(exc)
        if missing is not None:
            raise missing from None
        raise PluginError(f"model {builder.spec.name!r} of plugin {builder.spec.plugin!r} failed to build: "
                          f"{describe_failure(exc)}") from exc


def describe_failure(exc: BaseException) -> str:
    """``Type: first line of the message``: a plugin's failure told in one line, whatever its
    exception holds (a multi-line message, a ``__str__`` that raises, ``sys.exit``)."""
    if isinstance(exc, SystemExit):
        return f"SystemExit({exc.code!r}) (the plugin called sys.exit)"
    try:
        text = str(exc).strip()
    except Exception:
        text = "(its message cannot be shown)"
    return f"{type(exc).__name__}: {text.splitlines()[0][:300] if text else ''}".rstrip(": ")
