"""kzoo.sklearn: kzoo's models as scikit-learn estimators, judged by scikit-learn's own checks,
and in the places users put them (grid search across processes, pipelines, pickles, DataFrames)."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

import kzoo
from kzoo.sklearn import KzooClassifier, KzooRegressor

TINY = {"model": "mlp", "model_params": {"hidden_units": (16,)}, "epochs": 3, "learning_rate": 0.05}
"""One hidden layer of 16 units, 3 epochs at a high rate: each fit of the checks' small tables
takes well under a second, and still learns their blobs (check_classifiers_train asks for 0.83)."""

EXPECTED_FAILURES = {
    "check_sample_weight_equivalence_on_dense_data": (
        "a weight of k is not the same run as k copies of a row: training takes mini-batches (other batches, "
        "another number of steps), and the preprocessing learnt inside the model (medians, means, scales) "
        "counts rows, not weights; the two models agree in expectation, not to float precision"),
}
"""scikit-learn's checks that kzoo's estimators fail, with the reason: one of ~45 per estimator."""


def expected_failures(estimator: object) -> dict[str, str]:
    return EXPECTED_FAILURES


@parametrize_with_checks([KzooClassifier(**TINY), KzooRegressor(**TINY)], expected_failed_checks=expected_failures)
def test_scikit_learn_checks(estimator, check) -> None:
    check(estimator)


def test_expected_failures_are_few_and_each_explained() -> None:
    assert 0 < len(EXPECTED_FAILURES) <= 2
    assert all(len(reason) > 40 for reason in EXPECTED_FAILURES.values())


# -- where users put an estimator ---------------------------------------------------------------

pd = pytest.importorskip("pandas")


def penguins_frame(rows: int = 120) -> tuple[object, np.ndarray]:
    """A DataFrame as real tables come: NA cells in a number and a text column, a text column."""
    rng = np.random.default_rng(0)
    species = rng.integers(0, 3, rows)
    bill = 35 + 5 * species + rng.normal(0, 1, rows)
    island = np.array(["Torgersen", "Biscoe", "Dream"])[(species + (rng.random(rows) < 0.2)) % 3].astype(object)
    bill[::9] = np.nan
    island[::7] = None
    frame = pd.DataFrame({"bill": bill, "island": pd.array(island, dtype="string"),
                          "mass": rng.normal(4000, 300, rows).round()})
    return frame, np.array(["Adelie", "Chinstrap", "Gentoo"])[species]


@pytest.fixture(scope="module")
def fitted() -> tuple[KzooClassifier, object, np.ndarray]:
    frame, y = penguins_frame()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", kzoo.CsvNote)
        clf = KzooClassifier(**{**TINY, "epochs": 20}, random_state=0).fit(frame, y)
    return clf, frame, y


def test_a_dataframe_with_na_cells_and_a_text_column_trains_as_from_the_cli(fitted, tmp_path) -> None:
    clf, frame, y = fitted
    assert list(clf.feature_names_in_) == ["bill", "island", "mass"] and clf.n_features_in_ == 3
    assert list(clf.classes_) == ["Adelie", "Chinstrap", "Gentoo"]
    assert clf.score(frame, y) > 0.8
    proba = clf.predict_proba(frame)
    assert proba.shape == (len(frame), 3) and np.allclose(proba.sum(axis=1), 1)
    path = tmp_path / "clf.keras"
    clf.save(path)  # the file kzoo train --out writes: kzoo predict reads it, the raw rows in
    header, rows = kzoo.predict(path, frame)
    assert header[:2] == ["row", "output"]
    assert [row[1] for row in rows] == list(clf.predict(frame))
    assert np.allclose([row[2:5] for row in rows], proba, atol=1e-5)
    assert type(clf.model_).__module__.startswith("keras")


def test_a_pickled_estimator_predicts_the_same(fitted) -> None:
    clf, frame, _ = fitted
    again = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(again.predict_proba(frame), clf.predict_proba(frame))
    assert list(again.classes_) == list(clf.classes_) and again.model_ is not clf.model_


def test_clone_of_a_fitted_estimator_is_an_unfitted_twin(fitted) -> None:
    clf, frame, _ = fitted
    twin = clone(clf)
    assert twin.get_params() == clf.get_params()
    assert not hasattr(twin, "classes_")
    with pytest.raises(NotFittedError):
        twin.predict(frame)


def test_a_pipeline_with_a_column_transformer() -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    frame, y = penguins_frame()
    prepare = ColumnTransformer([("numbers", SimpleImputer(), ["bill", "mass"]),
                                 ("island", OneHotEncoder(handle_unknown="ignore"), ["island"])])
    pipe = make_pipeline(prepare, KzooClassifier(**{**TINY, "epochs": 20}, random_state=0))
    pipe.set_params(kzooclassifier__model__hidden_units=(8,))
    frame = frame.assign(island=frame["island"].fillna("unknown").astype(object))
    assert pipe.fit(frame, y).score(frame, y) > 0.8
    assert pipe[-1].n_features_in_ == 6 and pipe[-1].model_params == {"hidden_units": (8,)}


def test_grid_search_across_two_processes_picks_a_best_estimator() -> None:
    from sklearn.datasets import load_iris
    from sklearn.model_selection import GridSearchCV

    X, y = load_iris(return_X_y=True)
    grid = GridSearchCV(KzooClassifier(**{**TINY, "epochs": 10}, random_state=0),
                        {"model__hidden_units": [(4,), (16,)], "learning_rate": [0.001, 0.05]}, cv=2, n_jobs=2)
    grid.fit(X, y)
    assert len(grid.cv_results_["params"]) == 4 and np.isfinite(grid.cv_results_["mean_test_score"]).all()
    assert grid.best_params_["learning_rate"] == 0.05  # 20 steps at 0.001 learn little of iris
    assert grid.best_estimator_.model_params["hidden_units"] == grid.best_params_["model__hidden_units"]
    assert grid.best_estimator_.score(X, y) > 0.8


@pytest.mark.parametrize(("params", "message"), [
    ({"epochs": 0}, r"The 'epochs' parameter of KzooClassifier must be an int in the range \[1, inf\)"),
    ({"learning_rate": -1.0}, r"The 'learning_rate' parameter of KzooClassifier must be a float in the range"),
    ({"model": "mlpp"}, r"unknown model 'mlpp'\. Did you mean mlp\?"),
    ({"model_params": {"hidden_unitz": (8,)}}, r"hidden_unitz"),
    ({"val_split": 1.5}, r"The 'val_split' parameter of KzooClassifier must be a float in the range \[0(\.0)?, 1(\.0)?\)"),
], ids=["epochs", "learning_rate", "model", "config-key", "val_split"])
def test_bad_parameters_are_scikit_learns_value_errors_at_fit(params, message) -> None:
    clf = KzooClassifier(**{**TINY, **params})  # no error until fit, as scikit-learn asks
    with pytest.raises(ValueError, match=message):
        clf.fit([[0.0, 1.0], [1.0, 0.0]] * 4, [0, 1] * 4)


def test_grid_parameters_reach_the_build_config_and_leave_the_given_dict_alone() -> None:
    config = {"hidden_units": (4,)}
    clf = KzooClassifier("mlp", model_params=config)
    clf.set_params(model__hidden_units=(2, 2), epochs=1)
    assert config == {"hidden_units": (4,)} and clf.model_params == {"hidden_units": (2, 2)}
    assert clf.get_params()["model__hidden_units"] == (2, 2) and "model__hidden_units" not in clf.get_params(deep=False)
    X, y = [[0.0, 1.0], [1.0, 0.0]] * 4, [0, 1] * 4
    built = kzoo.get("mlp").build(input_dim=2, num_classes=2, hidden_units=(2, 2))
    assert clf.fit(X, y).model_.count_params() == built.count_params()


def test_warm_start_continues_from_the_last_fit_and_sample_weights_count() -> None:
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    cold = KzooClassifier(**{**TINY, "epochs": 2, "learning_rate": 0.01}, random_state=0).fit(X, y)
    warm = clone(cold).set_params(warm_start=True).fit(X, y).fit(X, y)
    assert warm.history_["loss"][0] < cold.history_["loss"][0]  # the second fit starts where the first ended
    assert warm._trained.metadata["weights"]["name"] == "the previous fit (warm_start)"
    ones = clone(cold).fit(X, y, sample_weight=np.ones(len(y)))
    assert np.array_equal(ones.predict_proba(X), cold.predict_proba(X))  # weights of 1 change nothing
    setosa_only = clone(cold).fit(X, y, sample_weight=np.where(y == 0, 1.0, 1e-3))
    assert setosa_only.predict_proba(X)[:, 0].mean() > cold.predict_proba(X)[:, 0].mean()


def test_the_regressor_predicts_in_the_targets_units() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = 1000 + 50 * X[:, 0]
    reg = KzooRegressor(**{**TINY, "epochs": 30}, random_state=0).fit(X, y)
    assert reg.score(X, y) > 0.8 and abs(reg.predict(X).mean() - 1000) < 50
