"""Mixed precision through Keras's dtype policies: build a network under a policy, keep its
outputs in float32, and turn a saved mixed model's layers back to float32.

Why Keras's policies and nothing of kzoo's own: a layer records its policy in its config, so a
mixed model saves, loads, resumes and fine-tunes like any other, on every backend, and
``compile`` wraps the optimizer in a ``LossScaleOptimizer`` for ``mixed_float16`` by itself
(float16's narrow range needs loss scaling; bfloat16's does not). Variables stay float32 under
both mixed policies, so the weights of a mixed model fit a float32 one unchanged.

The output layers compute in float32, as Keras's mixed-precision guide advises: a softmax in
bfloat16 holds about three significant digits, and predictions, losses and exports read the
outputs. See docs/performance.md for what each policy costs and buys.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
"""The names ``--precision`` takes: Keras dtype policy names."""


@contextlib.contextmanager
def policy(name: str) -> Iterator[None]:
    """Layers created inside get the dtype policy ``name``; the previous global policy comes back after."""
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def float32_outputs(net: Any, custom_objects: Mapping[str, Any] | None = None) -> Any:
    """``net`` with the layers that produce its outputs computing in float32: a functional or
    Sequential network is rebuilt from its config with those layers' policy set to float32 and its
    weights copied (so its outputs are float32 tensors, as its spec says); a subclassed model,
    whose output layers Keras cannot name, is returned as it is. A float32 network is returned
    unchanged. Call it under the same :func:`policy`: the rebuilt model's own policy is the one
    in effect (``compile`` reads it to add loss scaling for float16)."""
    import keras

    if getattr(net.dtype_policy, "name", "float32") == "float32":
        return net
    if not (type(net).__module__.startswith("keras.") and type(net).__name__ in ("Functional", "Sequential")):
        return net  # a subclassed model (or a subclass of Functional with arguments of its own)
    try:
        names = {tensor._keras_history[0].name for tensor in net.outputs}
        config = net.get_config()
    except (AttributeError, ValueError, TypeError, NotImplementedError):
        return net
    float32 = keras.dtype_policies.serialize(keras.dtype_policies.get("float32"))
    for layer in config.get("layers", []):
        if layer.get("config", {}).get("name") in names:
            layer["config"]["dtype"] = float32
    with keras.saving.custom_object_scope(dict(custom_objects or {})):
        rebuilt = type(net).from_config(config)
    rebuilt.set_weights(net.get_weights())
    return rebuilt


def float32_config(config: Any) -> tuple[Any, int]:
    """``(config, changed)``: a Keras model config (as parsed JSON) with every mixed dtype policy
    replaced by float32, and how many it replaced. Variables are float32 under every policy, so
    the saved weights still fit; layers of other dtypes (int32 inputs, strings) are left alone."""
    changed = 0

    def walk(node: Any) -> Any:
        nonlocal changed
        if isinstance(node, dict):
            settings = node.get("config")
            if (node.get("class_name") == "DTypePolicy" and isinstance(settings, dict)
                    and str(settings.get("name", "")).startswith("mixed_")):
                changed += 1
                return {**node, "config": {**settings, "name": "float32"}}
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(value) for value in node]
        return node

    return walk(config), changed
