"""kzoo's models as scikit-learn estimators: ``KzooClassifier`` and ``KzooRegressor``.

Why: people who train on tables live in scikit-learn (``Pipeline``, ``ColumnTransformer``,
``cross_val_score``, ``GridSearchCV``, ``clone``, pickling). An estimator here is a thin contract
over kzoo's own run: ``fit`` reads the rows as :func:`kzoo.train` reads a DataFrame (missing cells
imputed, text columns as categories, inside the model), trains with kzoo's fast path and returns
the same self-contained ``keras.Model`` (``model_``) that ``kzoo train --out`` saves
(:meth:`KzooEstimator.save`). scikit-learn's own checks judge it (``tests/test_sklearn.py``).

Parameters are plain: ``model`` (a zoo name, or weights such as ``"mlp.iris"`` to fine-tune
from), :class:`kzoo.TrainOptions`' fields by name (``epochs``, ``learning_rate``...), and
``model_params``, the model's build config, whose keys are nested parameters
``model__<key>`` (``model__hidden_units``) as a nested estimator's are, so ``GridSearchCV``
searches any of them. Importing this module imports scikit-learn, not keras:
``fit`` and ``predict`` start it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from .._engine import wrapping
from .._engine.options import MAX_LEARNING_RATE, SCHEDULES, DataOptions, TrainOptions
from .._engine.precision import PRECISIONS
from .._store import saving
from .._system.limits import MAX_SEED
from .._weights import lookup
from ..datasets.memory import frame_columns, is_frame
from ..errors import KzooError
from .inference import plan_of, read_raw
from .loading import load_data
from .training import TABLE_MODEL, check_run, train

CONFIG_PREFIX = "model__"
"""Parameters named ``model__<key>`` reach the model's build config as ``<key>``."""
PREDICT_BATCH = 256
"""Rows per call when predicting: every call has this shape, so a row's answer does not depend
on the rows that came with it (scikit-learn checks that predicting a subset changes nothing)."""


class _Trained:
    """A fitted ``keras.Model`` and the kzoo metadata it is saved with. It pickles as the bytes of
    the ``.keras`` file kzoo writes (a Keras model does not pickle across processes) and loads
    the model back from them on first use, so an unpickled estimator costs nothing until used."""

    def __init__(self, model: Any, metadata: Mapping[str, Any]) -> None:
        self._model, self.metadata, self._bytes = model, dict(metadata), None

    @property
    def model(self) -> Any:
        if self._model is None:
            with _scratch_file() as path:
                path.write_bytes(self._bytes)
                self._model = saving.load(path)
        return self._model

    def save(self, path: str | os.PathLike[str]) -> None:
        saving.save_model(self.model, path, self.metadata)

    def file_bytes(self) -> bytes:
        if self._bytes is None:
            with _scratch_file() as path:
                self.save(path)
                self._bytes = path.read_bytes()
        return self._bytes

    def __getstate__(self) -> dict[str, Any]:
        return {"metadata": self.metadata, "bytes": self.file_bytes()}

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        self._model, self.metadata, self._bytes = None, dict(state["metadata"]), state["bytes"]


@contextlib.contextmanager
def _scratch_file() -> Iterator[Path]:
    """A ``.keras`` path in a temporary folder, removed with the folder on leaving."""
    with tempfile.TemporaryDirectory(prefix="kzoo-sklearn-") as folder:
        yield Path(folder) / "model.keras"


class KzooEstimator(BaseEstimator):
    """What both estimators share: the parameters, ``fit`` through :func:`kzoo.train`'s pieces,
    raw rows through the trained model, pickling. Use :class:`KzooClassifier` or :class:`KzooRegressor`."""

    _task = "classification"
    _parameter_constraints: dict[str, list[Any]] = {
        "model": [str, None],
        "model_params": [dict, None],
        "epochs": [Interval(Integral, 1, None, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "learning_rate": [Interval(Real, 0, MAX_LEARNING_RATE, closed="right"), None],
        "schedule": [StrOptions(set(SCHEDULES)), None],
        "val_split": [Interval(Real, 0, 1, closed="left")],
        "patience": [Interval(Integral, 0, None, closed="left"), None],
        "precision": [StrOptions(set(PRECISIONS))],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": [Interval(Integral, 0, 2, closed="both")],
    }

    def __init__(self, model: str | None = None, *, model_params: Mapping[str, Any] | None = None,
                 epochs: int | None = None, batch_size: int | None = None, learning_rate: float | None = None,
                 schedule: str | None = None, val_split: float = 0.0, patience: int | None = None,
                 precision: str = "float32", random_state: Any = None, warm_start: bool = False,
                 verbose: int = 0) -> None:
        self.model = model
        self.model_params = model_params
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.schedule = schedule
        self.val_split = val_split
        self.patience = patience
        self.precision = precision
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose

    # --- parameters: the named ones, and model__<key> for each key of model_params -------------

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The parameters; with ``deep``, also ``model__<key>`` for each build-config value, as a
        nested estimator's parameters are listed."""
        params = super().get_params(deep=deep)
        if deep and isinstance(self.model_params, Mapping):
            params.update({CONFIG_PREFIX + key: value for key, value in self.model_params.items()})
        return params

    def set_params(self, **params: Any) -> KzooEstimator:
        """Set parameters; ``model__<key>=value`` sets one build-config value (a new
        ``model_params`` dict: the one given is never changed), as ``GridSearchCV`` does."""
        config = {k[len(CONFIG_PREFIX):]: v for k, v in params.items() if k.startswith(CONFIG_PREFIX)}
        super().set_params(**{k: v for k, v in params.items() if not k.startswith(CONFIG_PREFIX)})
        if config:
            self.model_params = {**(self.model_params or {}), **config}
        return self

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing cells are imputed inside the model
        tags.input_tags.string = True  # text columns are categories
        return tags

    def __sklearn_is_fitted__(self) -> bool:
        return "_trained" in vars(self)

    # --- fit ---------------------------------------------------------------------------------

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> KzooEstimator:
        """Train a new model on ``X`` and ``y`` (with ``warm_start``, starting from the last one).

        Args:
            X: rows: an array, or a DataFrame whose columns may hold missing cells and text.
            y: one target per row: class labels (classifier) or numbers (regressor).
            sample_weight: one weight per row, scaling its loss (normalized to mean 1).

        Returns:
            The estimator, fitted.

        Example::

            clf = KzooClassifier("mlp", epochs=30).fit(X, y)
        """
        self._validate_params()
        columns, y = self._fit_rows(X, y)
        weights = None
        if sample_weight is not None:
            weights = _check_sample_weight(sample_weight, y, dtype=np.float64, ensure_non_negative=True)
        target = self._target_values(y, weights)
        name, options, config = self._run_options()
        if weights is not None:
            weights = (weights / weights.mean()).astype("float32")
        target_name = _free_name("target", columns)
        data_options = DataOptions(target=(target_name,), task=self._task)
        table = {**columns, target_name: target}
        try:
            builder, start = check_run(name, table, options, data_options)
            data = load_data(table, builder, config, data_options, seed=options.seed, val_split=options.val_split,
                             base_config=start.config if start is not None else None)
            if not data.meta.get("plan"):
                raise ValueError(f"model {name!r} shapes its own data (pairs of rows, token sequences or images), so "
                                 f"it cannot take a table's rows; pick a table model such as {TABLE_MODEL} or mlp.")
            if len(data.meta["plan"]["outputs"]) != 1:
                raise ValueError(f"model {name!r} has {len(data.meta['plan']['outputs'])} outputs; "
                                 f"{type(self).__name__} trains models with one.")
            data.sample_weight = weights
            with _warm_start(self, options) as warm:
                result = train(builder, data, options=warm)
            if warm is not options:  # not the temporary file's path, gone once fit returns
                result.metadata["weights"]["name"] = "the previous fit (warm_start)"
        except KeyError as error:  # an unknown model or weights name: scikit-learn's usual ValueError
            if isinstance(error, KzooError):
                raise ValueError(str(error)) from None
            raise
        if self._task == "classification":  # the labels trained as their indices: the file names them
            result.metadata["data"]["class_names"] = [str(label) for label in self.classes_]
        self._trained = _Trained(result.model, result.metadata)
        self._column_names = list(columns)
        self.history_ = result.history
        self.n_iter_ = result.epochs
        return self

    def _fit_rows(self, X: Any, y: Any) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """``X`` as named columns and ``y`` as a 1-D array, checked as scikit-learn checks them."""
        numeric = self._task == "regression"
        if is_frame(X):
            X, y = validate_data(self, X, y, skip_check_array=True)  # n_features_in_, feature_names_in_
            check_consistent_length(X, y)
            y = column_or_1d(check_array(y, ensure_2d=False, dtype="numeric" if numeric else None, input_name="y"),
                             warn=True)
            return frame_columns(X, "X"), y
        X, y = validate_data(self, X, y, dtype=None, ensure_all_finite="allow-nan", y_numeric=numeric)
        return {f"x{i}": X[:, i] for i in range(X.shape[1])}, y

    def _target_values(self, y: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
        return np.asarray(y, dtype="float64")

    def _run_options(self) -> tuple[str, TrainOptions, dict[str, Any]]:
        """``(model name, training options, build config)`` from the parameters."""
        name = TABLE_MODEL if self.model is None else self.model
        weights = None
        if lookup.is_weights_name(name):  # mlp.iris: fine-tune from registered weights
            weights, name = name, lookup.get_weights(name).model
        seed = self.random_state
        if not isinstance(seed, Integral) or not 0 <= seed <= MAX_SEED:
            seed = int(check_random_state(seed).randint(np.iinfo(np.int32).max))
        options = TrainOptions(epochs=self.epochs, batch_size=self.batch_size, learning_rate=self.learning_rate,
                               schedule=self.schedule, val_split=self.val_split, patience=self.patience,
                               precision=self.precision, seed=int(seed), verbose=self.verbose, weights=weights)
        return name, options, dict(self.model_params or {})

    # --- predict -----------------------------------------------------------------------------

    def _outputs(self, X: Any) -> np.ndarray:
        """The trained model's one output on the rows of ``X``, as float64."""
        check_is_fitted(self)
        if is_frame(X):
            validate_data(self, X, reset=False, skip_check_array=True)
            values = list(frame_columns(X, "X").values())
        else:
            X = validate_data(self, X, reset=False, dtype=None, ensure_all_finite="allow-nan")
            values = [X[:, i] for i in range(X.shape[1])]
        trained = self._trained
        plan = plan_of(trained.metadata)
        raw = read_raw(trained.metadata, plan, dict(zip(self._column_names, values)), (), require_target=False)
        result = wrapping.predict(trained.model, plan, raw.numeric, raw.categorical, batch_size=PREDICT_BATCH, eager=True)
        output = np.asarray(result[plan.outputs[0]["name"]], dtype="float64")
        return output.reshape(len(output), -1)

    @property
    def model_(self) -> Any:
        """The trained ``keras.Model``: self-contained, it takes the raw columns (docs/data.md)."""
        check_is_fitted(self)
        return self._trained.model

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the trained model as the ``.keras`` file ``kzoo train --out`` writes, with its
        kzoo metadata: ``kzoo predict``, ``kzoo info`` and ``kzoo.load`` read it.

        Args:
            path: where to write, ending in ``.keras``.

        Example::

            KzooClassifier("mlp").fit(X, y).save("m.keras")
        """
        check_is_fitted(self)
        self._trained.save(path)


class KzooClassifier(ClassifierMixin, KzooEstimator):
    """A kzoo model as a scikit-learn classifier.

    Args:
        model: a zoo model name (``kzoo list``), or registered weights to fine-tune from
            (``"mlp.iris"``); None: kzoo's model for tables (``realmlp``).
        epochs, batch_size, learning_rate, schedule, val_split, patience, precision, verbose:
            :class:`kzoo.TrainOptions`' fields; None takes the model's recipe, else kzoo's default.
        random_state: the seed of weights, batches and the validation split (an int gives the
            run ``kzoo train --seed`` gives; None draws one from numpy's global state).
        warm_start: start each ``fit`` from the last fit's weights (layers whose shapes still
            match), as kzoo fine-tunes from a saved model.
        model_params: build-config values (``{"hidden_units": (64,)}``); ``set_params`` and
            parameter grids set one as ``model__<key>`` (``model__hidden_units``).

    Attributes:
        classes_, n_features_in_, feature_names_in_: as scikit-learn documents them.
        model_: the trained, self-contained ``keras.Model``; ``save(path)`` writes kzoo's ``.keras`` file.
        history_, n_iter_: the per-epoch metrics and the epochs trained.

    Example::

        from kzoo.sklearn import KzooClassifier
        clf = KzooClassifier("mlp", model_params={"hidden_units": (32,)}, epochs=50, random_state=0)
        clf.fit(X_train, y_train).score(X_test, y_test)
    """

    _task = "classification"

    def _target_values(self, y: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes to learn from; got 1 class "
                             f"({self.classes_.tolist()[0]!r}).")
        if weights is not None and len(np.unique(encoded[weights > 0])) < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes with a positive sample_weight; "
                             f"only 1 class has one.")
        return encoded.astype("int64")

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, one column per class of ``classes_``.

        Args:
            X: rows, as for :meth:`fit`.

        Returns:
            An array of shape ``(n_samples, n_classes)`` whose rows sum to 1.
        """
        probabilities = self._outputs(X)
        if probabilities.shape[1] == 1:  # one sigmoid unit: the second class's probability
            probabilities = np.hstack([1.0 - probabilities, probabilities])
        probabilities = np.clip(probabilities, 0.0, None)
        return probabilities / probabilities.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row (one of ``classes_``)."""
        probabilities = self.predict_proba(X)  # checks that the estimator is fitted first
        return self.classes_[np.argmax(probabilities, axis=1)]


class KzooRegressor(RegressorMixin, KzooEstimator):
    """A kzoo model as a scikit-learn regressor: as :class:`KzooClassifier` (the same
    parameters), for one numeric target; predictions come in the target's own units.

    Example::

        from kzoo.sklearn import KzooRegressor
        reg = KzooRegressor("mlp", model_params={"hidden_units": (32,)}, epochs=50).fit(X, y)
    """

    _task = "regression"

    def predict(self, X: Any) -> np.ndarray:
        """The predicted target of each row, in the target's units.

        Args:
            X: rows, as for :meth:`fit`.

        Returns:
            An array of shape ``(n_samples,)``.
        """
        return self._outputs(X)[:, 0]


def _free_name(name: str, taken: Mapping[str, Any]) -> str:
    """``name``, with underscores added until no column has it."""
    while name in taken:
        name += "_"
    return name


@contextlib.contextmanager
def _warm_start(estimator: KzooEstimator, options: TrainOptions) -> Iterator[TrainOptions]:
    """The training options of one ``fit``: with ``warm_start`` and a previous fit, they start
    from its model (kzoo's fine-tuning from a saved file), written for as long as training reads it."""
    if not (estimator.warm_start and "_trained" in vars(estimator)):
        yield options
        return
    with _scratch_file() as path:
        estimator._trained.save(path)
        yield options.replace(weights=str(path))
