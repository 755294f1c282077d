"""Training past one device, the public names: ``tf.distribute`` strategies by name, which process
writes, and the fit that works under every strategy.

A face, as ``keras/api/distribution`` is for ``keras/src/distribution``: the code lives in the
engine (``kzoo._engine.strategies``, ``kzoo._engine.custom_loop``, ``kzoo._engine.loops``), and
this module re-exports it under the names users import. Importing it does not import tensorflow.

Example::

    from kzoo import distribute

    strategy = distribute.resolve_strategy("mirrored")
    with distribute.scope(strategy):
        builder = kzoo.get("mlp")
        model = builder.compile(builder.build())
    distribute.fit(model, x, y, strategy=strategy, epochs=5)
    with distribute.write_target("model.keras", strategy) as target:
        model.save(target)
"""

from __future__ import annotations

from ._engine.arrays import split_tail
from ._engine.custom_loop import CUSTOM_LOOP_FIT_ARGS, fit_custom_loop
from ._engine.loops import fit
from ._engine.strategies import (
    TF_CONFIG_EXAMPLE,
    check_strategy,
    is_chief,
    is_keras_distribution,
    parse_tf_config,
    resolve_strategy,
    scope,
    steps_per_execution_for,
    supports_steps_per_execution,
    uses_custom_loop,
    wait_for_workers,
    write_target,
)

__all__ = [
    "CUSTOM_LOOP_FIT_ARGS",
    "TF_CONFIG_EXAMPLE",
    "check_strategy",
    "fit",
    "fit_custom_loop",
    "is_chief",
    "is_keras_distribution",
    "parse_tf_config",
    "resolve_strategy",
    "scope",
    "split_tail",
    "steps_per_execution_for",
    "supports_steps_per_execution",
    "uses_custom_loop",
    "wait_for_workers",
    "write_target",
]
