"""A zoo model trained for another task than its builder's: any classifier as a regressor.

Built-in models end in a softmax classifier. For a regression target kzoo keeps the builder's
layers and swaps only the Dense layer that makes the output for one linear unit of the same name
(:func:`kzoo._engine.wrapping.as_regressor`); losses and metrics then follow from that linear
output (mse, mae), as for any model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._engine.wrapping import as_regressor
from .._meta.spec import BINARY_LOSSES, SPARSE_LOSSES, TensorSpec
from .builder import ModelBuilder

if TYPE_CHECKING:  # pragma: no cover
    import keras

    from ..datasets.table import Table


class RegressionBuilder(ModelBuilder):
    """``base`` with a one-unit linear output; config, validation and data shaping are base's."""

    def __init__(self, base: ModelBuilder) -> None:
        self.base = base
        self.spec = base.spec  # type: ignore[misc]  # the same model, by name and plugin
        self.weights_source = base.weights_source

    def config(self, **overrides: Any) -> dict[str, Any]:
        return self.base.config(**{**self.base.task_defaults("regression"), **overrides})

    def recipe(self) -> dict[str, Any]:
        """base's recipe with its regression options (:meth:`ModelBuilder.task_training`), checked
        as a declared recipe is."""
        from .._engine.options import recipe_problems
        from ..errors import PluginError

        extra = dict(self.base.task_training("regression"))
        problems = recipe_problems(extra)
        if problems:
            name, value, expected = problems[0]
            raise PluginError(f"task_training('regression') of model {self.spec.name!r} (plugin {self.spec.plugin!r}) "
                              f"sets {name}={value!r}; expected {expected}.")
        return {**self.base.recipe(), **extra}

    def build_model(self, config: Mapping[str, Any]) -> keras.Model:
        """A model that declares its backbone gets a new head of one linear unit on it; any other
        has the Dense layer that makes its output swapped for one."""
        if self.base.has_backbone:
            (output,) = self.base.output_specs(config)  # targets are read under the output's name
            return regression_head(self.base.build_backbone(config), self.spec.name, output.name)
        return as_regressor(self.base.build_model(config))

    def build_backbone(self, config: Mapping[str, Any]) -> keras.Model:
        return self.base.build_backbone(config)

    @property
    def has_backbone(self) -> bool:
        return self.base.has_backbone

    def make_optimizer(self, config: Mapping[str, Any], learning_rate: float, decay_steps: int | None) -> Any:
        """base's optimizer: a recipe's weight decay or betas hold for either task (its
        :meth:`compile` does not: a classifier's loss means nothing for one linear unit)."""
        return self.base.make_optimizer(config, learning_rate, decay_steps)

    def custom_objects(self) -> dict[str, Any]:
        return self.base.custom_objects()

    def loss_overrides(self) -> dict[str, dict[str, Any]]:
        return {"losses": {}, "metrics": {}}  # a classifier's hand-written losses do not apply

    def declared(self, config: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {**self.base.declared(config), **self.loss_overrides(), "outputs": ()}  # the base's inputs

    def output_specs(self, config: Mapping[str, Any] | None = None) -> tuple[TensorSpec, ...]:
        return self.facts(config).outputs  # never the classifier's outputs from the manifest

    def infer_config(self, table: Table) -> dict[str, Any]:
        inferred = self.base.infer_config(table)
        inferred.pop("num_classes", None)  # the head is replaced: a class count means nothing
        return inferred

    def shape_data(self, table: Table, config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
        return self.base.shape_data(table, config)

    @property
    def shapes_its_own_data(self) -> bool:
        return self.base.shapes_its_own_data


def regression_head(backbone: keras.Model, name: str, output: str) -> keras.Model:
    """``backbone`` (its features flattened, if they are not a vector) with one linear unit on top,
    the layer named ``output``: a model ``name`` whose one output regresses."""
    import keras

    x = backbone.outputs[0]
    if len(x.shape) > 2:
        x = keras.layers.Flatten(name="regression_flatten")(x)
    prediction = keras.layers.Dense(1, name=output)(x)
    return keras.Model(backbone.inputs if len(backbone.inputs) > 1 else backbone.inputs[0], prediction, name=name)


def for_task(builder: ModelBuilder, task: str | None) -> ModelBuilder:
    """The builder that trains ``builder``'s model for ``task``: a classifier's for regression is
    a :class:`RegressionBuilder`; a model that already regresses (or classification) is its own."""
    if task != "regression" or isinstance(builder, RegressionBuilder):
        return builder
    classifies = any(o.loss in (*SPARSE_LOSSES, *BINARY_LOSSES) for o in builder.output_specs())
    return RegressionBuilder(builder) if classifies else builder
