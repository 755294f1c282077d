"""kzoo's models as scikit-learn estimators, the public names: ``KzooClassifier``, ``KzooRegressor``.

A face, as :mod:`kzoo.distribute` is: the code lives in ``kzoo._workflow.estimators``, and this
module re-exports it under the names users import. Importing it imports scikit-learn but not
keras or tensorflow; ``fit`` and ``predict`` start them. See docs/sklearn.md.

Example::

    from sklearn.model_selection import cross_val_score
    from kzoo.sklearn import KzooClassifier

    clf = KzooClassifier("mlp", model_params={"hidden_units": (32,)}, epochs=50, random_state=0)
    cross_val_score(clf, X, y, cv=5)
"""

from __future__ import annotations

from ._workflow.estimators import CONFIG_PREFIX, KzooClassifier, KzooEstimator, KzooRegressor

__all__ = ["CONFIG_PREFIX", "KzooClassifier", "KzooEstimator", "KzooRegressor"]
