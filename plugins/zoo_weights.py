"""Trained weights for the built-in models, one card (JSON) and one ``.weights.h5`` file each
in ``weights/``, all made by ``scripts/make_weights.py`` with the arguments its cards record.

Registered through ``kzoo_register_weights`` like any plugin's weights; reading the cards needs
no keras. The models they name belong to the other built-in plugins and are checked when used.
"""

from __future__ import annotations

import json
from pathlib import Path

from kzoo import Weights, hookimpl

FOLDER = "weights"  # next to this module; Weights.source paths are relative to it


def cards() -> list[dict]:
    return [json.loads(path.read_text(encoding="utf-8"))
            for path in sorted((Path(__file__).parent / FOLDER).glob("*.json"))]


@hookimpl
def kzoo_register_weights(register):
    for card in cards():
        register(Weights(
            model=card["model"], name=card["name"], source=f"{FOLDER}/{card['file']}", sha256=card["sha256"],
            config=card["config"], data=card["data"], metrics=card["metrics"], license=card["license"],
            description=card["description"], size=card["size"],
        ))
