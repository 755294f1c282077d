"""``@kzoo.model``: a build function becomes a registrable model.

Everything kzoo needs is read, not written: the name from the function, the one-line description
from its docstring, the default config (and each key's type) from the signature's defaults, and
inputs, outputs, api style and parameter count from the built model (kept in the plugin's
``kzoo-manifest.json`` so listing never imports keras). Only what a build cannot tell is given:
tags, paper, license, range rules (``validate``), and losses that the output activations do
not imply.
"""

from __future__ import annotations

import importlib
import inspect
import re
import types
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, overload

from .._meta.derive import describe
from .._meta.spec import ModelSpec, TensorSpec
from .._system.backend import BACKENDS
from ..errors import ConfigError, KzooError, PluginError
from .builder import ModelBuilder
from .guard import describe_failure

if TYPE_CHECKING:  # pragma: no cover
    import keras

    from ..datasets.table import Table

BuildFunction = Callable[..., "keras.Model"]


class DeclaredModel(ModelBuilder):
    """The :class:`~kzoo.ModelBuilder` that :func:`kzoo.model` makes of a build function.

    Calling it builds the model (``tiny_cnn(filters=16)``), so the decorated name still works as
    the function it was.
    """

    def __init__(
        self,
        function: BuildFunction,
        *,
        name: str | None = None,
        description: str | None = None,
        tags: Sequence[str] = (),
        paper: str | None = None,
        license: str | None = None,
        validate: Callable[[Mapping[str, Any]], Any] | None = None,
        loss: Mapping[str, str] | str | None = None,
        metrics: Mapping[str, Sequence[str]] | Sequence[str] | None = None,
        custom_objects: Callable[[], Mapping[str, Any]] | None = None,
        inputs: Mapping[str, str | Mapping[str, Any]] | None = None,
        api: str | Sequence[str] | None = None,
        infer_config: Callable[[Table], Mapping[str, Any]] | None = None,
        shape_data: Callable[[Table, Mapping[str, Any]], tuple[dict[str, Any], dict[str, Any] | None]] | None = None,
        backends: str | Sequence[str] = (),
        training: Mapping[str, Any] | None = None,
        search_space: Mapping[str, Any] | None = None,
        backbone: BuildFunction | str | None = None,
        kit_config: Mapping[str, Any] | None = None,
    ) -> None:
        self.function = function
        self.__wrapped__ = function
        self.__doc__ = function.__doc__
        self.__module__ = function.__module__
        self._validate = validate
        self._loss, self._metrics = loss, metrics
        self._custom_objects = custom_objects
        self._infer_config, self._shape_data = infer_config, shape_data
        self._backbone = backbone
        self.kit_config = {str(k): frozen(v) for k, v in (kit_config or {}).items()}
        default_config = signature_defaults(function)
        where = f"{function.__module__}.{function.__qualname__}"
        if isinstance(backbone, str) and not DOTTED_PATH.fullmatch(backbone):
            raise PluginError(f"{where}: backbone={backbone!r} is not a dotted path; expected 'package.module:function'.")
        self._inputs = {str(k): _input_declaration(where, k, v, default_config) for k, v in (inputs or {}).items()}
        apis = self._apis = (api,) if isinstance(api, str) else tuple(api or ())
        if apis and default_config.get("api") != apis[0]:
            raise PluginError(f"{where}: api={apis!r} needs a parameter api={apis[0]!r} (the first style is the "
                              f"default); add it to the function's signature.")
        backends = (backends,) if isinstance(backends, str) else tuple(backends)
        unknown = [b for b in backends if b not in BACKENDS]
        if unknown:
            raise PluginError(f"{where}: backends={backends!r} names {unknown}; expected some of {list(BACKENDS)}.")
        self.spec = ModelSpec(
            name=name or function.__name__,
            description=description or _first_line(function),
            api=apis or None,
            default_config=default_config,
            tags=tuple(tags),
            paper=paper,
            license=license,
            backends=backends,
            training=dict(training or {}),
            search_space=dict(search_space or {}),
        )

    @property
    def module(self) -> str:
        """The module the build function lives in: its package holds the manifest."""
        return self.function.__module__

    def __call__(self, **config: Any) -> keras.Model:
        return self.build(**config)

    def validate_config(self, config: Mapping[str, Any]) -> None:
        apis = self._apis  # declared; a spec's api filled from the manifest is a fact, not a rule
        if apis and config.get("api") not in apis:
            raise ConfigError(f"{self.spec.name}: config api={config.get('api')!r} is not allowed; expected "
                              f"{' or '.join(map(repr, apis))}.")
        run_validate(self._validate, config, self.spec.name)

    def build_model(self, config: Mapping[str, Any]) -> keras.Model:
        import keras

        model = self.function(**config)
        if not isinstance(model, keras.Model):
            raise PluginError(
                f"model {self.spec.name!r} (plugin {self.spec.plugin!r}): {self.function.__qualname__}() "
                f"returned {type(model).__name__}; a kzoo.model function must return a keras.Model."
            )
        return model

    def loss_overrides(self) -> dict[str, dict[str, Any]]:
        losses = self._loss if isinstance(self._loss, Mapping) else {}
        metrics = self._metrics if isinstance(self._metrics, Mapping) else {}
        if isinstance(self._loss, str) or (self._metrics is not None and not isinstance(self._metrics, Mapping)):
            # One loss / metric list for a single-output model: its output's name is read from a build.
            (only,) = self.facts_without_overrides().outputs
            if isinstance(self._loss, str):
                losses = {only.name: self._loss}
            if self._metrics is not None and not isinstance(self._metrics, Mapping):
                metrics = {only.name: tuple(self._metrics)}
        return {"losses": dict(losses), "metrics": {k: tuple(v) for k, v in metrics.items()}}

    def facts_without_overrides(self) -> Any:
        return describe(self.build_model(self.config()), inputs=self._declared_inputs(self.config()))

    def declared(self, config: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {**self.loss_overrides(), "inputs": self._declared_inputs(self.config(**dict(config or {}))),
                "outputs": ()}

    def _declared_inputs(self, config: Mapping[str, Any]) -> tuple[TensorSpec, ...]:
        """The ``inputs=`` declarations as specs for ``config`` (an id range may follow a config key)."""
        specs = []
        for name, known in self._inputs.items():
            value_range = known.get("range")
            if isinstance(value_range, str):
                value_range = (0, config[value_range])
            elif callable(value_range):
                value_range = value_range(config)
            specs.append(TensorSpec(name, (), dtype=known.get("dtype", "float32"), description=known.get("description", ""),
                                    range=value_range))
        return tuple(specs)

    def infer_config(self, table: Table) -> dict[str, Any]:
        inferred = super().infer_config(table)
        if self._infer_config is not None:
            found = self._hook("infer_config", self._infer_config, table)
            if not isinstance(found, Mapping):
                raise PluginError(f"infer_config of model {self.spec.name!r} (plugin {self.spec.plugin!r}) returned "
                                  f"{type(found).__name__}; expected a dict of config values.")
            inferred.update(found)
        return inferred

    @property
    def shapes_its_own_data(self) -> bool:
        return self._shape_data is not None or type(self).shape_data is not DeclaredModel.shape_data

    def shape_data(self, table: Table, config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
        if self._shape_data is None:
            return super().shape_data(table, config)
        shaped = self._hook("shape_data", self._shape_data, table, config)
        if not (isinstance(shaped, tuple) and len(shaped) == 2 and isinstance(shaped[0], Mapping)
                and (shaped[1] is None or isinstance(shaped[1], Mapping))):
            raise PluginError(f"shape_data of model {self.spec.name!r} (plugin {self.spec.plugin!r}) returned "
                              f"{type(shaped).__name__}; expected (x, y): dicts keyed by input and output name, y None "
                              f"without targets.")
        return dict(shaped[0]), None if shaped[1] is None else dict(shaped[1])

    def _hook(self, what: str, function: Callable[..., Any], *args: Any) -> Any:
        """A plugin's data hook: kzoo errors (``kzoo.DataError`` for data it cannot use) pass through,
        anything else is one line naming the model and the plugin."""
        try:
            return function(*args)
        except (KzooError, KeyboardInterrupt):
            raise
        except BaseException as exc:
            raise PluginError(f"{what} of model {self.spec.name!r} (plugin {self.spec.plugin!r}) failed: "
                              f"{describe_failure(exc)}") from exc

    @property
    def has_backbone(self) -> bool:
        return self._backbone is not None or type(self).build_backbone is not DeclaredModel.build_backbone

    def build_backbone(self, config: Mapping[str, Any]) -> keras.Model:
        """``backbone=``'s function (or the one its dotted path names, imported now) on the config."""
        if self._backbone is None:
            return super().build_backbone(config)
        where = f"model {self.spec.name!r} (plugin {self.spec.plugin!r})"
        function = resolve(self._backbone, where) if isinstance(self._backbone, str) else self._backbone
        return function(**config)

    def custom_objects(self) -> dict[str, Any]:
        return dict(self._custom_objects()) if self._custom_objects else {}

    def __repr__(self) -> str:
        return f"<kzoo.model {self.spec.name!r} from plugin {self.spec.plugin!r}>"


@overload
def model(function: BuildFunction, /) -> DeclaredModel: ...
@overload
def model(*, name: str | None = ..., description: str | None = ..., tags: Sequence[str] = ...,
          paper: str | None = ..., license: str | None = ...,
          validate: Callable[[Mapping[str, Any]], Any] | None = ...,
          loss: Mapping[str, str] | str | None = ..., metrics: Mapping[str, Sequence[str]] | Sequence[str] | None = ...,
          custom_objects: Callable[[], Mapping[str, Any]] | None = ...,
          inputs: Mapping[str, str | Mapping[str, Any]] | None = ..., api: str | Sequence[str] | None = ...,
          infer_config: Callable[[Table], Mapping[str, Any]] | None = ...,
          shape_data: Callable[[Table, Mapping[str, Any]], tuple[dict[str, Any], dict[str, Any] | None]] | None = ...,
          backends: str | Sequence[str] = ...,
          training: Mapping[str, Any] | None = ...,
          search_space: Mapping[str, Any] | None = ...,
          backbone: BuildFunction | str | None = ...,
          kit_config: Mapping[str, Any] | None = ...) -> Callable[[BuildFunction], DeclaredModel]: ...


def model(function: BuildFunction | None = None, /, **options: Any) -> Any:
    """Make a build function a kzoo model; use bare (``@kzoo.model``) or with options.

    Args:
        name: the model's name (default: the function's).
        description: one line (default: the docstring's first line).
        tags, paper, license: metadata shown by ``kzoo list`` / ``kzoo info``.
        validate: ``validate(config)`` or ``validate(config, name)`` raises :class:`kzoo.ConfigError`
            (or returns a message) for values out of range; types are already checked.
        loss, metrics: per output name, when the defaults read from the output activations do
            not fit (softmax: sparse categorical cross-entropy + accuracy; one sigmoid unit:
            binary cross-entropy + accuracy; anything else: mean squared error + mae). A plain
            string / list applies to a single-output model.
        custom_objects: returns the custom Keras classes that loading a saved model needs, for
            classes not registered with ``keras.saving.register_keras_serializable``.
        inputs: per input name, a description, or a dict of ``description``, ``range`` (id range
            of an integer input: ``(low, high)``, a config key such as ``"vocab_size"``, or
            ``f(config)``) and ``dtype`` (a subclassed model's one input: its name and dtype).
        api: the api styles the function builds, chosen by its ``api`` parameter (default first):
            ``("subclass", "functional")`` declares a functional twin.
        infer_config: ``f(table)`` returns config values the data fixes (image size, class
            count), on top of kzoo's own (``input_dim``, ``num_classes``).
        shape_data: ``f(table, config)`` returns ``(x, y)`` keyed by input and output name, for
            data the default shaping does not fit (grey tables for an RGB model).
        backends: the Keras backends the model runs on (default: all); others are refused in one
            line, and the kit checks only these.
        training: the recipe the model trains best with (``epochs``, ``batch_size``,
            ``learning_rate``, ``schedule``, ``patience``): ``kzoo.train``'s defaults for this
            model, which a user's own values override; shown by ``kzoo info``.
        search_space: where ``kzoo tune`` searches, per config key or training option: a list of
            choices (``["64", "128,64"]``), ``(low, high)``, or ``("log", low, high)``
            (see :func:`kzoo._meta.spec.search_space`); checked when registered, shown by ``kzoo info``.
        backbone: the model without its head (``kzoo.build(name, head=False)``, what fine-tuning
            keeps): a function taking the same config, or its dotted path
            (``"pkg._build:features"``, imported only when built); its layers with weights named
            as in the whole model.
        kit_config: config values the conformance kit trains and reloads the model with (a small
            input for a large model); its build and parameter checks keep the defaults.

    Returns:
        A :class:`~kzoo.ModelBuilder` (bare use), or the decorator that makes one (with options).
        It still builds when called: ``tiny(units=8)`` is the ``keras.Model``.

    Raises:
        kzoo.PluginError: an ``api=`` the function has no ``api`` parameter for, an unknown
            backend in ``backends=``, or a ``search_space`` entry in no known form.

    Example::

        @kzoo.model(tags=("classification",))
        def tiny(input_dim=4, units=16, num_classes=3):
            '''A one-layer classifier.'''
            import keras  # here, not at the top: listing models stays fast

            inputs = keras.Input((input_dim,), name="x")
            hidden = keras.layers.Dense(units, activation="relu")(inputs)
            outputs = keras.layers.Dense(num_classes, activation="softmax", name="label")(hidden)
            return keras.Model(inputs, outputs)

        tiny.spec.description  # 'A one-layer classifier.'
    """
    if function is not None:
        return DeclaredModel(function, **options)
    return lambda f: DeclaredModel(f, **options)


INPUT_KEYS = ("description", "range", "dtype")


def _input_declaration(where: str, name: str, value: Any, config: Mapping[str, Any]) -> dict[str, Any]:
    """One ``inputs=`` entry: a description, or a mapping of ``description``, ``range`` (a
    ``(low, high)`` pair, the config key holding ``high``, or ``f(config) -> (low, high)``) and
    ``dtype`` (for a subclassed model, whose input has no dtype of its own)."""
    if isinstance(value, str):
        return {"description": value}
    if not isinstance(value, Mapping) or set(value) - set(INPUT_KEYS):
        raise PluginError(f"{where}: inputs[{name!r}] is {value!r}; expected a description, or a dict with keys "
                          f"{', '.join(INPUT_KEYS)}.")
    key = value.get("range")
    if isinstance(key, str) and key not in config:
        raise PluginError(f"{where}: inputs[{name!r}] takes its range from config key {key!r}, which the function "
                          f"does not have; its keys are {', '.join(config) or 'none'}.")
    return dict(value)


DOTTED_PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
"""``package.module:function``: a builder named, to be imported only when a model is built."""


def resolve(path: str, what: str) -> Callable[..., Any]:
    """The object ``"package.module:attribute"`` names, imported now; a failure is one PluginError."""
    module, _, attribute = path.partition(":")
    try:
        found: Any = importlib.import_module(module)
        for part in attribute.split("."):
            found = getattr(found, part)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # the wrapped library missing, or a typo in the path
        raise PluginError(f"{what}: {path!r} cannot be imported: {describe_failure(exc)}; install the library the "
                          f"plugin wraps, or fix the path (package.module:function).") from exc
    if not callable(found):
        raise PluginError(f"{what}: {path!r} is a {type(found).__name__}, not a function.")
    return found


def run_validate(validate: Callable[..., Any] | None, config: Mapping[str, Any], name: str) -> None:
    """A plugin's ``validate(config)`` or ``validate(config, name)`` rule: a kzoo.ConfigError, a
    returned message, or a TypeError/ValueError from it is one ConfigError naming the model."""
    if validate is None:
        return
    try:
        problem = validate(config, name) if _takes_two(validate) else validate(config)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name}: config {dict(config)} is not allowed: {exc}") from None
    if isinstance(problem, str) and problem:
        raise ConfigError(f"{name}: {problem}")


def _takes_two(function: Callable[..., Any]) -> bool:
    """Whether ``validate`` takes ``(config, name)`` rather than ``(config)``."""
    try:
        params = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in params)


def signature_defaults(function: Callable[..., Any]) -> dict[str, Any]:
    """The default config a signature declares; every parameter needs a default (it fixes the type)."""
    if isinstance(function, types.FunctionType) and not hasattr(function, "__wrapped__"):
        fast = _code_defaults(function)  # 10x cheaper than inspect.signature: a plugin may declare thousands
        if fast is not None:
            return fast
    config: dict[str, Any] = {}
    for param in inspect.signature(function).parameters.values():
        where = f"{function.__module__}.{function.__qualname__}"
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise PluginError(f"{where}: a kzoo.model function takes named config values only, not *{param.name}.")
        if param.default is param.empty:
            raise PluginError(
                f"{where}: parameter {param.name!r} has no default; give every parameter a default value "
                f"(it is the model's default config and fixes the value's type for --set)."
            )
        config[param.name] = frozen(param.default)
    return config


def _code_defaults(function: types.FunctionType) -> dict[str, Any] | None:
    """The defaults of a plain function with no ``*args``/``**kwargs`` and a default for every
    parameter, read from its code object; None for anything else (inspect.signature explains it)."""
    code = function.__code__
    if code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS):
        return None
    positional = code.co_varnames[:code.co_argcount]
    keyword_only = code.co_varnames[code.co_argcount:code.co_argcount + code.co_kwonlyargcount]
    defaults = function.__defaults__ or ()
    kwdefaults = function.__kwdefaults__ or {}
    if len(defaults) != len(positional) or any(name not in kwdefaults for name in keyword_only):
        return None
    config = {name: frozen(value) for name, value in zip(positional, defaults)}
    config.update((name, frozen(kwdefaults[name])) for name in keyword_only)
    return config


def frozen(value: Any) -> Any:
    """A default config value as kzoo keeps it: lists (nested too) become tuples."""
    return tuple(frozen(v) for v in value) if isinstance(value, (list, tuple)) else value


def _first_line(function: Callable[..., Any]) -> str:
    doc = inspect.getdoc(function) or ""
    return doc.strip().splitlines()[0].strip() if doc.strip() else ""
