"""Train the built-in models' weights and write their files, digests and cards.

    python scripts/make_weights.py            # every recipe
    python scripts/make_weights.py mlp.iris   # one

Each recipe is a `kzoo train` command line, run as a user would run it and recorded in the card
with its result. The card's ``metrics`` are what `kzoo evaluate` measures on the whole data set
(training samples included); ``val_metrics`` are from the held-out part (``--val-split``) at the
end of training. Output: plugins/weights/NAME.weights.h5, NAME.json and NAME.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "plugins" / "weights"
LICENSE = "Apache-2.0"
COMMON = ["--val-split", "0.2", "--patience", "0", "--seed", "0", "--quiet"]  # every epoch, as when these were made

#: full name -> (the `kzoo train` arguments, a description)
RECIPES: dict[str, tuple[list[str], str]] = {
    "mlp.iris": (["mlp", "--data", "iris", "--epochs", "150"], "The seed MLP on iris: 4 raw measurements in cm (standardized inside the model), 3 species."),
    "mlp.digits": (["mlp", "--data", "digits", "--set", "hidden_units=64,32", "--epochs", "60"],
                   "The MLP with input_dim=64 and 64-32 hidden units on 8x8 digit images."),
    "two_input_mlp.digits": (["two_input_mlp", "--data", "digits", "--epochs", "60"],
                             "Top and bottom halves of 8x8 digit images as two inputs (32 pixels each)."),
    "siamese_mlp.digits": (["siamese_mlp", "--data", "digits", "--set", "tower_units=64,32", "--epochs", "60"],
                           "Same-digit or not, for pairs of 8x8 digit images (one pair per image, half of them same)."),
    "multi_output_mlp.iris": (["multi_output_mlp", "--data", "iris", "--epochs", "150"],
                              "Species (label) and petal width (value, standardized) of iris flowers from 3 measurements."),
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make(name: str) -> dict:
    import kzoo
    from kzoo._store import saving
    from kzoo._workflow.inference import evaluate_file

    args, description = RECIPES[name]
    model, weights_name = name.rsplit(".", 1)
    with tempfile.TemporaryDirectory() as tmp:
        keras_file, metrics_file = Path(tmp) / "model.keras", Path(tmp) / "metrics.json"
        command = ["kzoo", "train", *args, *COMMON]
        subprocess.run([sys.executable, "-m", "kzoo", *command[1:], "--out", str(keras_file),
                        "--metrics-out", str(metrics_file)], check=True)
        meta = saving.read_metadata(keras_file)
        trained = json.loads(metrics_file.read_text())["metrics"]
        metrics = evaluate_file(keras_file, meta["data"]["source"])
        target = OUT / f"{name}.weights.h5"
        kzoo.load(keras_file).save_weights(target)
    card = {
        "model": model, "name": weights_name, "file": target.name, "sha256": sha256(target),
        "size": target.stat().st_size, "config": meta["config"], "data": meta["data"],
        "metrics": {k: round(v, 4) for k, v in sorted(metrics.items())},
        "val_metrics": {k[4:]: round(v, 4) for k, v in sorted(trained.items()) if k.startswith("val_")},
        "license": LICENSE, "description": description,
        "training": {"command": " ".join(command), **meta["training"]}, "kzoo_version": meta["kzoo_version"],
    }
    (OUT / f"{name}.json").write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    (OUT / f"{name}.md").write_text(model_card(name, card), encoding="utf-8")
    return card


def model_card(name: str, card: dict) -> str:
    metrics = ", ".join(f"{k} {v}" for k, v in card["metrics"].items())
    val = ", ".join(f"{k} {v}" for k, v in card["val_metrics"].items())
    return "\n".join([
        f"# {name}", "", card["description"], "",
        f"- model: `{card['model']}`, config `{json.dumps(card['config'])}`",
        f"- data: `{card['data']['source']}`; trained with `{card['training']['command']}`",
        *([f"- task: {card['data']['plan']['task']}; self-contained: the model takes raw values "
           f"({', '.join(card['data']['plan']['numeric'][:4])}{' ...' if len(card['data']['plan']['numeric']) > 4 else ''}), "
           f"its preprocessing is inside it"] if card["data"].get("plan") else
          ["- preprocessing outside the model (its own data shaping), recorded in the card's `data`"]),
        f"- on the whole data set: {metrics}",
        f"- on the held-out 20 %: {val}",
        f"- file: `{card['file']}`, {card['size']:,} bytes, sha256 `{card['sha256']}`",
        f"- license: {card['license']}", "",
    ])


def main(names: list[str]) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    OUT.mkdir(parents=True, exist_ok=True)
    for name in names or list(RECIPES):
        card = make(name)
        print(f"{name}: {card['metrics']} (held out: {card['val_metrics']}) {card['size']:,} bytes sha256 {card['sha256'][:12]}")


if __name__ == "__main__":
    main(sys.argv[1:])
