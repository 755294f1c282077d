"""One process of the multi-worker test (tests/test_distribute_multiworker.py); not part of kzoo.

    python tests/distributed_worker.py OUT_DIR STRATEGY

Trains the built-in ``mlp`` on scikit-learn's iris with :func:`kzoo.distribute.fit_custom_loop`
under STRATEGY ("multi-worker" reads TF_CONFIG; "default" is the single-process baseline), then
writes OUT_DIR/result-<task>.json (accuracy, history, chief or not), OUT_DIR/weights-<task>.npz,
and, on the chief only, OUT_DIR/model.keras.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from kzoo import distribute  # noqa: E402

EPOCHS = 40
BATCH_SIZE = 16
SEED = 0


def iris_split():
    """Standardised iris, 100 training and 50 test samples, the same split in every process."""
    import numpy as np
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    x, y = load_iris(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=50, random_state=SEED, stratify=y)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    scale = lambda a: ((a - mean) / std).astype("float32")  # noqa: E731
    return scale(x_train), y_train.astype("int32"), scale(x_test), y_test.astype("int32"), np


def main(out_dir: str, strategy_name: str) -> None:
    # The strategy comes first: MultiWorkerMirroredStrategy must configure TF before any op runs.
    strategy = distribute.resolve_strategy(strategy_name)
    import keras

    import kzoo

    task = json.loads(os.environ["TF_CONFIG"])["task"]["index"] if strategy is not None else "single"
    out = Path(out_dir)
    x_train, y_train, x_test, y_test, np = iris_split()
    keras.utils.set_random_seed(SEED)
    builder = kzoo.get("mlp")
    with distribute.scope(strategy):
        model = builder.build(input_dim=4, num_classes=3, api="functional")
        builder.compile(model, optimizer=keras.optimizers.Adam(0.01))
    # In the cluster, distribute.fit (what `kzoo train` calls) picks the custom loop; the baseline
    # calls the same loop directly, as model.fit would shuffle differently.
    train = distribute.fit if strategy is not None else distribute.fit_custom_loop
    history = train(
        model, x_train, y_train, strategy=strategy, epochs=EPOCHS, batch_size=BATCH_SIZE,
        validation_data=(x_test, y_test), seed=SEED,
    )
    predictions = np.asarray(model(x_test, training=False))
    accuracy = float((predictions.argmax(axis=1) == y_test).mean())
    np.savez(out / f"weights-{task}.npz", *[np.asarray(w) for w in model.get_weights()])
    with distribute.write_target(out / "model.keras", strategy) as target:
        model.save(target)
    result = {"accuracy": accuracy, "history": history.history, "chief": distribute.is_chief(strategy)}
    (out / f"result-{task}.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main(*sys.argv[1:3])
