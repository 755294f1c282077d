"""Two deep-learning models for tables, written from their papers: ``realmlp`` and ``tabm``.

Both take kzoo's self-contained table input (one flat float vector ``input``: median-filled,
z-scored numbers, 0/1 missing flags, one-hot categories; see kzoo.datasets.preprocess) and keep
their own preprocessing in Keras layers inside the network (smooth clipping, periodic embeddings,
scaling), so a saved model, its reload and every export answer on raw rows. Their training
recipes (epochs, batch, learning rate, patience; weight decay, betas, label smoothing, members)
are the models' declared defaults: ``kzoo info realmlp`` shows them, a user's options override them.

Deviations from the papers that hold for both: kzoo's plan z-scores every numeric column, so the
smooth clipping after it stands in for RealMLP's robust scaling (median / quantile range) and for
TabM's quantile transform (robust scaling inside the network was measured worse here: see
docs/tabular.md); the learning-rate schedule is kzoo's cosine decay to a tenth; the best
epoch is kept by kzoo's early stopping on the validation metric (with ``val_split``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kzoo import ModelBuilder, ModelSpec, hookimpl
from kzoo.config import require

BINARY_VALUES = 2  # a feature with at most this many distinct values is a flag, not a number


class TabularBuilder(ModelBuilder):
    """What both models share: the layout of the table input (which features are 0/1 flags,
    read from the table), range rules, AdamW as the optimizer and the layers to reload with."""

    def infer_config(self, table) -> dict[str, Any]:
        """kzoo's ``input_dim`` and ``num_classes``, and ``binary_features``: the positions of the
        features with at most two values (missing flags, one-hot categories, yes/no columns),
        which skip clipping and embeddings as in the papers (both embed numeric features only)."""
        import numpy as np

        inferred = super().infer_config(table)
        features = np.asarray(table.features)
        if features.ndim == 2 and features.shape[1] == inferred.get("input_dim"):
            inferred["binary_features"] = tuple(
                j for j in range(features.shape[1])
                if len(np.unique(features[:, j][np.isfinite(features[:, j])])) <= BINARY_VALUES)
        return inferred

    def validate_config(self, config: Mapping[str, Any]) -> None:
        name = self.spec.name
        require(name, config["input_dim"] >= 1, "input_dim", config["input_dim"], "an integer >= 1")
        require(name, config["num_classes"] >= 2, "num_classes", config["num_classes"], "an integer >= 2")
        require(name, all(0 <= j < config["input_dim"] for j in config["binary_features"]), "binary_features",
                config["binary_features"], f"feature positions in 0..{config['input_dim'] - 1}")
        require(name, bool(config["hidden_units"]) and all(u >= 1 for u in config["hidden_units"]), "hidden_units",
                config["hidden_units"], "integers >= 1, such as 256,256,256")
        require(name, 0 <= config["dropout"] < 1, "dropout", config["dropout"], "a fraction in [0, 1)")
        require(name, config["weight_decay"] >= 0, "weight_decay", config["weight_decay"], "a number >= 0")
        require(name, config["embedding_frequencies"] >= 1, "embedding_frequencies",
                config["embedding_frequencies"], "an integer >= 1")
        require(name, config["embedding_dim"] >= 2, "embedding_dim", config["embedding_dim"], "an integer >= 2")

    def make_optimizer(self, config: Mapping[str, Any], learning_rate: float, decay_steps: int | None) -> Any:
        """AdamW with the config's ``weight_decay`` and ``beta_2`` (both papers train with AdamW),
        at ``learning_rate``; with ``decay_steps``, kzoo's cosine decay to a tenth."""
        import keras

        rate: Any = learning_rate
        if decay_steps:
            rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=int(decay_steps), alpha=0.1)
        return keras.optimizers.AdamW(rate, weight_decay=config["weight_decay"], beta_1=0.9, beta_2=config["beta_2"])

    def custom_objects(self) -> dict[str, Any]:
        from ._tabular_layers import CUSTOM_OBJECTS

        return dict(CUSTOM_OBJECTS)


class RealMLPBuilder(TabularBuilder):
    """RealMLP-TD: Holzmüller, Grinsztajn and Steinwart, "Better by Default: Strong Pre-Tuned
    MLPs and Boosted Trees on Tabular Data", NeurIPS 2024 (arXiv:2407.04491).

    The network: numeric features smoothly clipped (``x / sqrt(1 + (x/3)^2)``) and PBLD-embedded
    (per feature 16 trainable frequencies ``cos(2π(w x + b))``, a per-feature linear map to 3
    values, and the feature itself: 4 values), next to the 0/1 features; a trainable diagonal
    scaling layer; 3 Dense layers of 256 with SELU and dropout 0.15; a softmax classifier.
    Training (the recipe): 256 epochs of batch 256, AdamW with betas (0.9, 0.95), label
    smoothing 0.1 for classification (a regressor trains on mse), the best epoch kept.

    A regressor, as in the paper, uses Mish and parametric activations (``x + w (f(x) - x)``, one
    ``w`` a unit trained at a tenth of the rate; :meth:`RealMLPBuilder.task_defaults`).

    Not as in the paper: standard (not NTK) parametrisation and Keras's initialisers, no other
    per-layer learning-rate factors, plain SELU for classification (parametric activations
    measured worse there), constant dropout (not flat-cos), cosine learning-rate decay instead
    of coslog4, so a lower peak learning rate (2e-3 instead of 0.04); categories are one-hot
    whatever their count (the paper embeds those with more than 8). docs/tabular.md has what
    each of these measured when tried."""

    spec = ModelSpec(
        name="realmlp",
        description="RealMLP-TD (Holzmüller et al., NeurIPS 2024): smooth clipping, PBLD periodic embeddings, "
                    "a scaling layer and a 3x256 SELU MLP, with its tuned default recipe.",
        tags=("tabular", "classification", "single-input"),
        paper="https://arxiv.org/abs/2407.04491",
        default_config={
            "input_dim": 4,
            "num_classes": 10,
            "binary_features": (),
            "hidden_units": (256, 256, 256),
            "activation": "selu",
            "parametric_activation": False,
            "dropout": 0.15,
            "embedding": True,
            "embedding_frequencies": 16,
            "embedding_dim": 4,
            "embedding_sigma": 0.1,
            "label_smoothing": 0.1,
            "weight_decay": 0.0,
            "beta_2": 0.95,
        },
        training={"epochs": 256, "batch_size": 256, "learning_rate": 2e-3, "schedule": "cosine", "patience": 40},
        # Around the tuned defaults (kzoo tune): width and depth, dropout, smoothing, the peak rate.
        search_space={
            "hidden_units": ["256,256,256", "512,512,512", "128,128", "256,256"],
            "dropout": (0.0, 0.4),
            "label_smoothing": (0.0, 0.2),
            "weight_decay": [0.0, 1e-4, 1e-3, 1e-2],
            "learning_rate": ("log", 5e-4, 1e-2),
        },
    )

    def validate_config(self, config: Mapping[str, Any]) -> None:
        super().validate_config(config)
        require(self.spec.name, 0 <= config["label_smoothing"] < 1, "label_smoothing", config["label_smoothing"],
                "a fraction in [0, 1)")
        require(self.spec.name, isinstance(config["parametric_activation"], bool), "parametric_activation",
                config["parametric_activation"], "true or false")

    def task_defaults(self, task: str) -> Mapping[str, Any]:
        """RealMLP-TD's regression recipe uses Mish where its classifier uses SELU (measured here:
        mean R² 0.5735 against SELU's 0.5638 over the benchmark's 11 regression tables, one run),
        and its parametric activations (mean R² 0.5787 -> 0.5819 at 4e-3: docs/tabular.md)."""
        return {"activation": "mish", "parametric_activation": True} if task == "regression" else {}

    def task_training(self, task: str) -> Mapping[str, Any]:
        """RealMLP-TD trains regressors at 5x its classifiers' learning rate (0.2 against 0.04 in
        its parametrization). Here twice the classifier's 2e-3 measured best: mean R² over the 11
        regression tables 0.5735 -> 0.5787 at 4e-3, one run; 8e-3 was worse on the first tables
        (penguins_mass 0.8204 -> 0.8055, cars 0.8829 -> 0.8452)."""
        return {"learning_rate": 4e-3} if task == "regression" else {}

    def build_model(self, config: Mapping[str, Any]):
        import keras

        from ._tabular_layers import (
            diagonal_scale,
            numeric_front,
            parametric_activation,
        )

        inputs = keras.Input(shape=(config["input_dim"],), name="input")
        x = numeric_front(inputs, config)
        x = diagonal_scale(x, name="scale")
        for i, units in enumerate(config["hidden_units"], start=1):
            if config["parametric_activation"]:
                x = keras.layers.Dense(units, name=f"hidden_{i}")(x)
                x = parametric_activation(x, config["activation"], name=f"hidden_{i}")
            else:
                x = keras.layers.Dense(units, activation=config["activation"], name=f"hidden_{i}")(x)
            if config["dropout"]:
                x = keras.layers.Dropout(config["dropout"], name=f"dropout_{i}")(x)
        output = keras.layers.Dense(config["num_classes"], activation="softmax", name="output")(x)
        return keras.Model(inputs, output, name="realmlp")

    def compile(self, model, optimizer=None, loss=None, metrics=None, config=None, **compile_kwargs):
        """As kzoo compiles, with label smoothing on the classifier's cross-entropy (a regressor,
        built by :class:`kzoo._zoo.tasks.RegressionBuilder`, compiles with kzoo's own losses)."""
        from ._tabular_layers import SmoothedSparseCrossentropy

        smoothing = self.config(**dict(config or {}))["label_smoothing"]
        if loss is None and smoothing:
            loss = SmoothedSparseCrossentropy(smoothing)
        return super().compile(model, optimizer=optimizer, loss=loss, metrics=metrics, config=config, **compile_kwargs)


class TabMBuilder(TabularBuilder):
    """TabM-mini: Gorishniy, Kotelnikov and Babenko, "TabM: Advancing Tabular Deep Learning with
    Parameter-Efficient Ensembling", ICLR 2025 (arXiv:2410.24210).

    ``k`` members share one MLP: each member's copy of the row is multiplied by its own adapter
    ``r_m`` (±1 at start) before the shared Dense layers (ReLU, dropout 0.1), every member has its
    own linear head, and the prediction is the mean of the members' class probabilities (for a
    regressor: of their predictions). Numeric features are smoothly clipped first; ``embedding``
    adds RealMLP's periodic embeddings (the paper's TabM-mini† uses piecewise-linear ones).
    Training (the recipe): AdamW, learning rate 2e-3, weight decay 3e-4, batch 256, patience 16.

    Not as in the paper: the loss is that of the ensemble's mean prediction, not the mean of the
    members' losses (kzoo's models have one output of shape ``(batch, classes)``, and a Keras loss
    sees only that); defaults are smaller than the paper's (k=16 members and 3 layers of 256, not
    32 and 512) so that it trains in minutes on a CPU; ``--set members=32`` restores them."""

    spec = ModelSpec(
        name="tabm",
        description="TabM-mini (Gorishniy et al., ICLR 2025): k weight-sharing MLP members with per-member "
                    "adapters and heads; predicts their mean.",
        tags=("tabular", "classification", "single-input", "ensemble"),
        paper="https://arxiv.org/abs/2410.24210",
        default_config={
            "input_dim": 4,
            "num_classes": 10,
            "binary_features": (),
            "members": 16,
            "hidden_units": (256, 256, 256),
            "dropout": 0.1,
            "embedding": False,
            "embedding_frequencies": 16,
            "embedding_dim": 4,
            "embedding_sigma": 0.1,
            "weight_decay": 3e-4,
            "beta_2": 0.999,
        },
        training={"epochs": 100, "batch_size": 256, "learning_rate": 2e-3, "schedule": "constant", "patience": 16},
        # The paper's tuning space, scaled to the defaults (kzoo tune): members, width, depth, dropout, rates.
        search_space={
            "members": [8, 16, 32],
            "hidden_units": ["256,256,256", "512,512", "256,256", "128,128,128"],
            "dropout": (0.0, 0.4),
            "weight_decay": ("log", 1e-5, 1e-2),
            "learning_rate": ("log", 5e-4, 5e-3),
        },
    )

    def validate_config(self, config: Mapping[str, Any]) -> None:
        super().validate_config(config)
        require(self.spec.name, config["members"] >= 1, "members", config["members"], "an integer >= 1, such as 32")

    def build_model(self, config: Mapping[str, Any]):
        import keras

        from ._tabular_layers import member_mean

        backbone = self.build_backbone(config)
        k, classes = config["members"], config["num_classes"]
        members = keras.layers.Reshape((k, config["hidden_units"][-1]), name="members")(backbone.outputs[0])
        logits = keras.layers.EinsumDense("bkh,khc->bkc", output_shape=(k, classes), bias_axes="kc",
                                          name="heads")(members)
        probabilities = keras.layers.Softmax(name="member_probabilities")(logits)
        output = member_mean(probabilities, name="output")
        return keras.Model(backbone.inputs[0], output, name="tabm")

    def build_backbone(self, config: Mapping[str, Any]):
        """The members' last hidden layer, flattened to ``(batch, k * units)``: a regressor's one
        Dense unit on it is the sum of k per-member linear heads, i.e. (up to scale) their mean."""
        import keras

        from ._tabular_layers import member_adapters, numeric_front, random_signs

        inputs = keras.Input(shape=(config["input_dim"],), name="input")
        x = numeric_front(inputs, config)
        x = member_adapters(x, config["members"], name="adapters")  # (batch, k, d)
        for i, units in enumerate(config["hidden_units"], start=1):
            x = keras.layers.Dense(units, activation="relu", name=f"hidden_{i}")(x)  # shared by all members
            if config["dropout"]:
                x = keras.layers.Dropout(config["dropout"], name=f"dropout_{i}")(x)
        x = keras.layers.Flatten(name="member_features")(x)
        backbone = keras.Model(inputs, x, name="tabm_backbone")
        random_signs(backbone.get_layer("adapters"))
        return backbone

    def loss_overrides(self) -> dict[str, dict[str, Any]]:
        """The classifier's output is a mean of softmaxes, which kzoo cannot read an activation
        from: its loss and metric are declared."""
        return {"losses": {"output": "sparse_categorical_crossentropy"}, "metrics": {"output": ("accuracy",)}}


@hookimpl
def kzoo_register_models(register):
    register(RealMLPBuilder())
    register(TabMBuilder())
