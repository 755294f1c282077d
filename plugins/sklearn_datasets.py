"""Built-in data sets: the small real data sets scikit-learn ships (no download).

Registered through ``kzoo_register_datasets`` like any plugin's data sets; scikit-learn and numpy
are imported only when a data set is loaded.
"""

from __future__ import annotations

from functools import partial

from kzoo import hookimpl
from kzoo.datasets import Dataset


def _load(name: str, scale: float = 1.0):
    import numpy as np
    from sklearn import datasets

    from kzoo.datasets import Table

    bunch = getattr(datasets, f"load_{name}")()
    return Table(
        features=(np.asarray(bunch.data, dtype="float32") / scale).astype("float32"),
        feature_names=[str(f) for f in bunch.feature_names],
        target=np.asarray(bunch.target, dtype="int32"),
        target_name="target",
        class_names=[str(c) for c in bunch.target_names],
        source=name,
    )


DATASETS = (
    Dataset("iris", "Iris flowers: 4 measurements, 3 species.", partial(_load, "iris"),
            standardize=True, samples=150, features=4, classes=3, source="sklearn.datasets.load_iris"),
    Dataset("digits", "Handwritten digits: 8x8 images as 64 pixels scaled to [0, 1], 10 classes.",
            partial(_load, "digits", 16.0), samples=1797, features=64, classes=10,
            source="sklearn.datasets.load_digits"),
    Dataset("wine", "Wine cultivars: 13 chemical measurements, 3 classes.", partial(_load, "wine"),
            standardize=True, samples=178, features=13, classes=3, source="sklearn.datasets.load_wine"),
    Dataset("breast_cancer", "Breast tumours: 30 cell-nucleus features, malignant or benign.",
            partial(_load, "breast_cancer"), standardize=True, samples=569, features=30, classes=2,
            source="sklearn.datasets.load_breast_cancer"),
)


@hookimpl
def kzoo_register_datasets(register):
    for dataset in DATASETS:
        register(dataset)
