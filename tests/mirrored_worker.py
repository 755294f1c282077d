"""The mirrored-strategy test's process (tests/test_distribute.py); not part of kzoo.

    python tests/mirrored_worker.py OUT_DIR

Splits the one CPU into two logical devices (possible only before TensorFlow initialises its
devices, hence a fresh interpreter), trains the built-in mlp on scikit-learn's digits with
``model.fit`` under ``--strategy mirrored``, saves it and writes OUT_DIR/result.json.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class _Notes(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def main(out_dir: str) -> None:
    import numpy as np
    import tensorflow as tf
    from sklearn.datasets import load_digits

    (cpu,) = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import keras

    import kzoo
    from kzoo import distribute

    notes = _Notes()
    logging.getLogger("kzoo").addHandler(notes)
    logging.getLogger("kzoo").setLevel(logging.INFO)

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    y = y.astype("int32")
    x_train, y_train, x_test, y_test = x[:1400], y[:1400], x[1400:], y[1400:]

    strategy = distribute.resolve_strategy("mirrored")
    keras.utils.set_random_seed(0)
    builder = kzoo.get("mlp")
    steps = distribute.steps_per_execution_for(strategy, 64)
    with strategy.scope():
        model = builder.build(input_dim=64, num_classes=10, hidden_units=(32, 32))
        builder.compile(model, steps_per_execution=steps)
    history = builder.train(model, x_train, y_train, epochs=5, batch_size=64, validation_data=(x_test, y_test))
    # The custom loop under the same strategy, on 97 samples in batches of 16: the last batch of 1
    # leaves one replica empty, which must not poison the weights with NaN.
    with strategy.scope():
        looped = builder.compile(builder.build(input_dim=64, num_classes=10, hidden_units=(32, 32)))
    loop_history = distribute.fit_custom_loop(
        looped, x_train[:97], y_train[:97], strategy=strategy, epochs=3, batch_size=16,
        validation_data=(x_test, y_test),
    )
    path = Path(out_dir) / "model.keras"
    with distribute.write_target(path, strategy) as target:
        model.save(target)
    loaded = kzoo.load(path)
    result = {
        "replicas": strategy.num_replicas_in_sync,
        "devices": list(strategy.extended.worker_devices),
        "steps_per_execution": steps,
        "notes": notes.messages,
        "chief": distribute.is_chief(strategy),
        "history": history.history,
        "accuracy": builder.evaluate(model, x_test, y_test)["accuracy"],
        "loaded_accuracy": builder.evaluate(loaded, x_test, y_test)["accuracy"],
        "loop_history": loop_history.history,
        "loop_weights_finite": all(bool(np.isfinite(w).all()) for w in looped.get_weights()),
        "same_predictions": bool(np.allclose(model.predict(x_test, verbose=0), loaded.predict(x_test, verbose=0))),
    }
    (Path(out_dir) / "result.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
