"""ModelBuilder: the one create / compile / train / evaluate / predict interface of every model.

A plugin subclasses it, sets ``spec`` and writes ``build_model``; everything else has defaults.
This module must not import keras at import time: builders are created just to list models.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from .._engine import fitting, loops
from .._engine.arrays import count_rows, unwrap
from .._engine.options import TrainOptions
from .._meta.derive import ModelFacts, describe
from .._meta.spec import SPARSE_LOSSES, ModelSpec, TensorSpec, jsonable
from ..config import merge_config
from ..datasets.shaping import default_shape
from ..errors import ConfigError, KzooError, PluginError
from .guard import build_checked, check_backend, describe_failure

if TYPE_CHECKING:  # pragma: no cover
    import keras

    from .._meta.weights_card import Weights
    from ..datasets.table import Table


class ModelBuilder:
    """Base class of every model builder.

    Subclasses set ``spec`` (a :class:`~kzoo.ModelSpec`) and implement :meth:`build_model`.
    Override :meth:`validate_config` for range rules. Inputs, outputs, api style and parameter
    count need not be written: they are read from a build (:meth:`facts`) and kept in the
    plugin's manifest. The simpler form of all this is :func:`kzoo.model` on a build function.
    """

    spec: ClassVar[ModelSpec]

    # -- config -----------------------------------------------------------------------------
    def config(self, **overrides: Any) -> dict[str, Any]:
        """The full build config: defaults updated with ``overrides``, type- and range-checked."""
        merged = merge_config(self.spec.name, self.spec.default_config, overrides)
        try:
            self.validate_config(merged)
        except (KzooError, KeyboardInterrupt):
            raise
        except BaseException as exc:  # a bug in a plugin's range rules is one line naming it
            raise PluginError(f"validate_config of model {self.spec.name!r} (plugin {self.spec.plugin!r}) "
                              f"failed: {describe_failure(exc)}") from exc
        return merged

    def validate_config(self, config: Mapping[str, Any]) -> None:
        """Raise :class:`kzoo.ConfigError` for values out of range. Types are already checked."""

    def task_defaults(self, task: str) -> Mapping[str, Any]:
        """Config defaults of a recipe that differ when this classifier trains for ``task``
        (``"regression"``: one linear unit replaces its head), such as RealMLP-TD's Mish for
        regression; a user's config wins over them, and a saved model keeps what it used."""
        return {}

    def task_training(self, task: str) -> Mapping[str, Any]:
        """Training-recipe options (``spec.training``'s keys) that differ when this classifier
        trains for ``task``, such as RealMLP-TD's higher learning rate for regression; a user's
        options win over them."""
        return {}

    def task_changes(self, task: str) -> dict[str, Any]:
        """What training for ``task`` changes: :meth:`task_defaults` (config) and
        :meth:`task_training` (options) together, as ``kzoo info`` shows them."""
        return {**self.task_defaults(task), **self.task_training(task)}

    def recipe(self) -> dict[str, Any]:
        """The training recipe ``kzoo train`` starts from: ``spec.training`` (a regressor's
        builder adds :meth:`task_training`)."""
        return dict(self.spec.training or {})

    def input_specs(self, config: Mapping[str, Any] | None = None) -> tuple[TensorSpec, ...]:
        """The model's inputs under ``config``: the spec's for the defaults when it knows them,
        else read from a build (imports keras; cached per config)."""
        if self.spec.inputs is not None and self._is_default(config):
            return self.spec.inputs
        return self.facts(config).inputs

    def output_specs(self, config: Mapping[str, Any] | None = None) -> tuple[TensorSpec, ...]:
        """The model's outputs under ``config``, with their default losses; like :meth:`input_specs`."""
        if self.spec.outputs is not None and self._is_default(config):
            return self.spec.outputs
        return self.facts(config).outputs

    def facts(self, config: Mapping[str, Any] | None = None) -> ModelFacts:
        """What a build under ``config`` tells (api style, inputs, outputs, parameter count),
        read from the built model once per config and cached. Never from the manifest."""
        full = self.config(**dict(config or {}))
        key = repr(sorted(jsonable(full).items()))
        cache: dict[str, ModelFacts] = self.__dict__.setdefault("_facts_cache", {})
        if key not in cache:
            cache[key] = describe(build_checked(self, full), **self.declared(full))
        return cache[key]

    def remember_facts(self, model: keras.Model, config: Mapping[str, Any]) -> ModelFacts:
        """The facts of ``model``, just built from the complete ``config``, kept as :meth:`facts`
        keeps them: a caller that has built the model (the conformance kit) spares a second build."""
        key = repr(sorted(jsonable(dict(config)).items()))
        cache: dict[str, ModelFacts] = self.__dict__.setdefault("_facts_cache", {})
        cache[key] = describe(model, **self.declared(config))
        return cache[key]

    @property
    def written_spec(self) -> ModelSpec:
        """The spec as the plugin wrote it, before the manifest filled its unknown facts in (the
        registry keeps it): what the code states, as opposed to what an earlier build told."""
        return self.__dict__.get("_written_spec", self.spec)

    def loss_overrides(self) -> dict[str, dict[str, Any]]:
        """Per-output ``losses`` and ``metrics`` that replace the defaults read from each output's
        activation (softmax, one sigmoid unit, linear): a hand-written spec's outputs state them.
        Outputs the manifest filled in are not overrides: a rebuilt manifest derives them afresh."""
        outputs = self.written_spec.outputs or ()
        return {"losses": {t.name: t.loss for t in outputs if t.loss is not None},
                "metrics": {t.name: t.metrics for t in outputs if t.loss is not None}}

    def declared(self, config: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """What the plugin's code states about the model built with ``config``, which wins over
        what a build tells (:func:`kzoo._meta.derive.describe`'s keyword arguments): the losses
        and metrics of :meth:`loss_overrides`, and the hand-written spec's inputs and outputs
        (their descriptions and id ranges; a subclassed model's input names and dtypes)."""
        written = self.written_spec
        return {**self.loss_overrides(), "inputs": written.inputs or (), "outputs": written.outputs or ()}

    def _is_default(self, config: Mapping[str, Any] | None) -> bool:
        return config is None or dict(config) == dict(self.spec.default_config)

    kit_config: Mapping[str, Any] = MappingProxyType({})
    """Config values the conformance kit compiles, trains, predicts and round-trips the model with
    (``{"input_shape": (32, 32, 3)}`` for an ImageNet-sized one), so the kit stays quick; its
    ``spec``, ``builds``, ``params`` and ``manifest`` checks still check the default config."""

    weights_source: Callable[[str], Mapping[str, Weights]] | None = None
    """Set by the plugin host that registers this builder: where :attr:`weights` looks (plugins sit
    above builders, so a builder is told where its weights are rather than importing the host)."""

    @property
    def weights(self) -> dict[str, Weights]:
        """The trained weights plugins registered for this model: ``{"iris": kzoo.Weights(...)}``.
        Plain data; build with ``kzoo.build(name, weights="iris")``. Empty when unregistered."""
        return dict(self.weights_source(self.spec.name)) if self.weights_source is not None else {}

    # -- create -----------------------------------------------------------------------------
    def build(self, **config: Any) -> keras.Model:
        """A new, uncompiled ``keras.Model`` built from the defaults updated with ``config``."""
        check_backend(self.spec)
        return self.build_model(self.config(**config))

    def build_model(self, config: Mapping[str, Any]) -> keras.Model:
        """Build the model from a complete, validated config. Import keras here, not above."""
        raise NotImplementedError(f"{type(self).__name__} must implement build_model(config)")

    def custom_objects(self) -> dict[str, Any]:
        """Classes Keras needs to load this builder's saved models (subclassed models)."""
        return {}

    def build_backbone(self, config: Mapping[str, Any]) -> keras.Model:
        """The model without its head, from a complete, validated config: the feature extractor
        that fine-tuning keeps and puts a new head on. A builder declares where its backbone
        ends by overriding this; by default a model has none (:attr:`has_backbone` is False)."""
        raise ConfigError(f"model {self.spec.name!r} declares no backbone, so it has no head=False form; "
                          f"build it whole, or (plugin authors) override ModelBuilder.build_backbone.")

    @property
    def has_backbone(self) -> bool:
        """Whether this model says where its backbone ends (overrides :meth:`build_backbone`)."""
        return type(self).build_backbone is not ModelBuilder.build_backbone

    # -- data ---------------------------------------------------------------------------------
    def infer_config(self, table: Table) -> dict[str, Any]:
        """Config values a feature table fixes, for the keys this model's defaults have:

        - ``input_dim``: the number of feature columns (of the first input's, when mapped);
        - ``input_dims``: the columns mapped to each input, else the features cut into one
          contiguous, near-equal part per input (digits' 64 pixels: top and bottom halves);
        - ``num_classes``: the class count of the target.

        The user's overrides win over these. Override this method for other layouts."""
        keys = self.spec.default_config
        inferred: dict[str, Any] = {}
        dims = [len(cols) for cols in table.input_columns.values()]
        if "input_dims" in keys:
            if dims:
                inferred["input_dims"] = tuple(dims)
            elif isinstance(keys["input_dims"], tuple) and keys["input_dims"]:
                parts = len(keys["input_dims"])
                size, extra = divmod(table.num_features, parts)
                inferred["input_dims"] = tuple([size] * (parts - 1) + [size + extra])
        if "input_dim" in keys:
            inferred["input_dim"] = dims[0] if dims else table.num_features
        classes = self._class_count(table)
        if "num_classes" in keys and classes:
            inferred["num_classes"] = max(classes, 2)  # one class seen still means a classifier
        return inferred

    def _class_count(self, table: Table) -> int | None:
        """Classes of the main target, else of the per-output target of a classifier output."""
        if table.num_classes:
            return table.num_classes
        for out in self.output_specs():
            labels = table.targets.get(out.name)
            if out.loss in SPARSE_LOSSES and labels is not None and labels.size:
                return len(table.class_names) if table.class_names else int(labels.max()) + 1
        return None

    @property
    def shapes_its_own_data(self) -> bool:
        """True when :meth:`shape_data` is not kzoo's default rule: a layout kzoo cannot redo
        inside a saved model (so the model does not carry its preprocessing)."""
        return type(self).shape_data is not ModelBuilder.shape_data

    def shape_data(self, table: Table, config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """``(x, y)`` keyed by input and output name from a feature table.

        Default: the user's input-to-columns mapping if given, else the feature columns in order,
        split across the inputs by their sizes; the main target feeds a single output and
        per-output targets feed outputs by name. ``y`` is None when the table has no targets.
        """
        return default_shape(self.input_specs(config), self.output_specs(config), table)

    # -- compile / train / evaluate / predict -------------------------------------------------
    def compile(
        self,
        model: keras.Model,
        optimizer: Any = None,
        loss: Any = None,
        metrics: Any = None,
        config: Mapping[str, Any] | None = None,
        **compile_kwargs: Any,
    ) -> keras.Model:
        """Compile ``model`` with its outputs' losses and metrics (under ``config``, the one it was
        built with when not the defaults) unless given; returns the model."""
        return fitting.compile_model(model, self.output_specs(config), optimizer=optimizer, loss=loss,
                                     metrics=metrics, **compile_kwargs)

    def make_optimizer(self, config: Mapping[str, Any], learning_rate: float, decay_steps: int | None) -> Any:
        """The optimizer ``kzoo.train`` compiles this model with: Adam at ``learning_rate``, with
        ``decay_steps`` a cosine decay to a tenth. Override it for a model whose recipe needs
        another (weight decay, other betas); ``config`` is the model's build config."""
        return fitting.make_optimizer(learning_rate, decay_steps)

    def train(self, model: keras.Model, x: Any, y: Any = None, options: TrainOptions | None = None,
              **fit_kwargs: Any) -> keras.callbacks.History:
        """Fit ``model`` on ``x``/``y`` (arrays, dicts of arrays keyed by input/output name).

        ``options`` gives ``epochs``, ``batch_size`` and ``seed`` (the rest of a
        :class:`~kzoo.TrainOptions` is for ``kzoo.train``; those left unset take the model's
        recipe, :meth:`recipe`); ``fit_kwargs`` go to ``model.fit``, or to kzoo's own loop under
        ``MultiWorkerMirroredStrategy`` (:func:`kzoo._engine.loops.choose_loop`)."""
        if options is not None:
            options = options.resolved(self.recipe(), count_rows(unwrap(x)) if y is not None else None)
            fit_kwargs = {"epochs": options.epochs, "batch_size": options.batch_size, "seed": options.seed,
                          "verbose": options.verbose, **fit_kwargs}
        return loops.fit(model, x, y, **fit_kwargs)

    def evaluate(self, model: keras.Model, x: Any, y: Any = None, **kwargs: Any) -> dict[str, float]:
        """Loss and metrics of ``model`` on ``x``/``y`` as a ``{name: value}`` dict."""
        return fitting.evaluate(model, x, y, **kwargs)

    def predict(self, model: keras.Model, x: Any, **kwargs: Any) -> Any:
        """Model outputs for ``x``: an array, or a dict keyed by output name for several outputs."""
        return fitting.predict(model, x, **kwargs)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.spec.name!r} from plugin {self.spec.plugin!r}>"
