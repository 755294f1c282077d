"""The backends test's process (tests/test_backends.py); not part of kzoo.

    KERAS_BACKEND=jax python tests/backend_worker.py OUT_DIR [FROM_OTHER.keras]
    KERAS_BACKEND=torch python tests/backend_worker.py OUT_DIR [FROM_OTHER.keras]

Runs list, build, compile, train, evaluate, predict, save, load, fine-tuning from built-in
weights and a CLI training run (with training curves) on the backend of its environment, loads a model another backend saved (predicting on iris), and writes
OUT_DIR/result.json, including whether tensorflow was ever imported.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(out_dir: str, other: str | None = None) -> None:
    import numpy as np

    import kzoo
    from kzoo.cli import main as cli

    out = Path(out_dir)
    result: dict = {"listed": "mlp" in kzoo.list_models(), "keras_before_build": "keras" in sys.modules}
    data = kzoo.datasets.load("iris", "mlp")
    x, y = data.x, data.y
    builder = kzoo.get("mlp")
    model = builder.compile(kzoo.build("mlp", input_dim=4, num_classes=3))
    history = builder.train(model, x, y, epochs=2, batch_size=16)
    result["fit_epochs"] = len(history.history["loss"])
    result["evaluated"] = builder.evaluate(model, x, y)
    result["predicted_shape"] = list(np.asarray(builder.predict(model, x)).shape)

    trained = kzoo.train("mlp", "iris", epochs=3, val_split=0.2, out=out / "model.keras")
    loaded = kzoo.load(out / "model.keras")
    result["reload_same"] = bool(np.allclose(builder.predict(trained.model, x), builder.predict(loaded, x), atol=1e-6))
    np.save(out / "predictions.npy", np.asarray(builder.predict(loaded, x)))
    result["stop_reason"] = trained.stop_reason
    tuned = kzoo.train("mlp", "iris", weights="mlp.iris", freeze=True, epochs=10, out=out / "tuned.keras")  # a new head
    result["fine_tuned_accuracy"] = tuned.metrics["accuracy"]
    _, rows = kzoo.predict(out / "tuned.keras", "iris")
    result["fine_tuned_predicted_rows"] = len(rows)

    for args in (["train", "mlp", "--data", "iris", "--epochs", "2", "--quiet", "--out", str(out / "cli.keras"),
                  "--val-split", "0.2", "--plot", str(out / "curves.png")],
                 ["evaluate", str(out / "cli.keras"), "--data", "iris", "--json"],
                 ["predict", str(out / "cli.keras"), "--data", "iris", "--out", str(out / "cli.csv")]):
        try:
            cli(args, standalone_mode=False)
        except SystemExit as exc:  # pragma: no cover - a failure shows in the result
            result.setdefault("cli_exits", []).append([args[0], exc.code])
    result["cli_rows"] = len((out / "cli.csv").read_text().splitlines())
    result["plotted"] = (out / "curves.png").read_bytes()[:4] == b"\x89PNG"
    if other:
        np.save(out / "other_predictions.npy", np.asarray(builder.predict(kzoo.load(other), x)))
    import keras

    result["backend"] = keras.config.backend()
    result["tensorflow_imported"] = sorted(m for m in sys.modules if m == "tensorflow" or m.startswith("tensorflow."))[:3]
    (out / "result.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main(*sys.argv[1:])
