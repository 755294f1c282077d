"""``Weights``: the import-free card of one set of trained weights a plugin publishes.

Plain data, like :class:`~kzoo.ModelSpec`: listing weights never needs keras. The file itself is
a Keras weights-only ``.weights.h5`` (no code, nothing to unpickle), or for a file Keras itself
publishes (``keras_file``: keras.applications' ImageNet weights) a legacy ``.h5`` fetched into
Keras's cache; ``config`` and ``data`` say how the model was built and its data shaped, so
evaluate and predict need no flags.

A card carries the one digest its publisher gives: ``sha256``, or ``md5`` where that is all there
is (most of Keras's files), so kzoo never claims a sha256 it never had.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from ..errors import PluginError

SUFFIX = ".weights.h5"
KERAS_SUFFIX = ".h5"  # the legacy HDF5 weights files Keras publishes
HEX_DIGITS = {"sha256": 64, "md5": 32}  # the digests a card may carry, and their lengths


@dataclass(frozen=True)
class Weights:
    """Trained weights for model ``model``, known as ``f"{model}.{name}"`` (``mlp.iris``).

    ``source`` is a path relative to the registering plugin's module (a file shipped in its
    package), an absolute local path, or an http(s) URL. ``sha256`` (or, for a file published
    with an md5 only, ``md5``: exactly one of them) is the full hex digest of the file, checked
    before Keras reads a byte. ``keras_file`` (``models/resnet50_weights_tf_dim_ordering_tf_kernels.h5``)
    marks a file that ``keras.utils.get_file`` downloads and checks into Keras's own cache
    (``$KERAS_HOME``, else ``~/.keras``), under that sub-folder and name. ``config`` is the build config, ``data`` the
    data-shaping metadata a saved ``.keras`` keeps under ``data`` in ``kzoo.json`` (``source``
    names the data set), ``metrics`` what ``kzoo evaluate`` measured on that data set.
    """

    model: str
    name: str
    source: str
    sha256: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict, repr=False)
    data: Mapping[str, Any] = field(default_factory=dict, repr=False)
    metrics: Mapping[str, float] = field(default_factory=dict)
    license: str | None = None
    description: str = field(default="", repr=False)
    size: int | None = None  # bytes, for listings of files not downloaded yet
    plugin: str | None = None  # filled in when registered: the plugin that registered it
    base_dir: str | None = field(default=None, repr=False)  # filled in when registered: where a relative ``source`` lives
    md5: str | None = None  # instead of sha256, for a file whose publisher gives only an md5
    keras_file: str | None = None  # "SUBDIR/NAME.h5": fetched by keras.utils.get_file into Keras's cache

    def __post_init__(self) -> None:
        object.__setattr__(self, "config", MappingProxyType(dict(self.config)))
        object.__setattr__(self, "data", MappingProxyType(dict(self.data)))
        object.__setattr__(self, "metrics", MappingProxyType(dict(self.metrics)))

    @property
    def full_name(self) -> str:
        return f"{self.model}.{self.name}"

    @property
    def dataset(self) -> str | None:
        """The data set (or file) the weights were trained and measured on."""
        source = self.data.get("source")
        return None if source is None else str(source)

    @property
    def task(self) -> str | None:
        """``classification`` or ``regression`` for weights trained on a table (their data's
        preprocessing plan says which); None when the card does not record it."""
        return (self.data.get("plan") or {}).get("task")

    @property
    def self_contained(self) -> bool:
        """True when the model holds its preprocessing: it takes raw columns (see docs/data.md)."""
        return bool(self.data.get("plan"))

    @property
    def hash_algorithm(self) -> str:
        """``sha256`` or ``md5``: the digest the card carries (what every use of the file checks)."""
        return "md5" if self.sha256 is None and self.md5 is not None else "sha256"

    @property
    def digest(self) -> str:
        """The hex digest of the file, in :attr:`hash_algorithm`."""
        return (self.md5 if self.hash_algorithm == "md5" else self.sha256) or ""

    @property
    def is_url(self) -> bool:
        return self.source.startswith(("http://", "https://"))

    def registered(self, plugin: str, base_dir: str | None) -> Weights:
        return replace(self, plugin=plugin, base_dir=base_dir)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.full_name, "model": self.model, "weights": self.name, "source": self.source,
            "hash_algorithm": self.hash_algorithm, "hash": self.digest, "sha256": self.sha256, "md5": self.md5,
            "keras_file": self.keras_file, "size": self.size, "dataset": self.dataset, "task": self.task,
            "self_contained": self.self_contained, "metrics": dict(self.metrics),
            "config": dict(self.config), "data": dict(self.data), "license": self.license,
            "description": self.description, "plugin": self.plugin,
        }


def check_weights(weights: object, plugin: str) -> Weights:
    """Reject registrations that are not usable weights cards, naming the plugin and the problem."""
    if not isinstance(weights, Weights):
        raise PluginError(f"plugin {plugin!r} called register() with {weights!r}; expected a kzoo.Weights.")
    problems = []
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", weights.name):
        problems.append(f"name {weights.name!r} (use letters, digits, '_' or '-', starting with a letter)")
    given = {algorithm: getattr(weights, algorithm) for algorithm in HEX_DIGITS
             if getattr(weights, algorithm) is not None}
    if len(given) != 1:
        problems.append(f"digest ({', '.join(given) or 'none given'}; expected exactly one of sha256= or md5=)")
    for algorithm, digest in given.items():
        if not (isinstance(digest, str) and re.fullmatch(rf"[0-9a-f]{{{HEX_DIGITS[algorithm]}}}", digest)):
            problems.append(f"{algorithm} {digest!r} (expected {HEX_DIGITS[algorithm]} lowercase hex digits)")
    if weights.keras_file is not None:
        if not re.fullmatch(r"[A-Za-z0-9_-]+/[A-Za-z0-9_.-]+", weights.keras_file) or \
                not weights.keras_file.endswith(KERAS_SUFFIX) or weights.keras_file.endswith(SUFFIX):
            problems.append(f"keras_file {weights.keras_file!r} (expected SUBDIR/NAME{KERAS_SUFFIX}, a legacy Keras "
                            f"file in Keras's cache, such as 'models/resnet50_weights_tf_dim_ordering_tf_kernels.h5')")
        if not weights.is_url:
            problems.append(f"source {weights.source!r} (a keras_file is downloaded: expected an http(s) URL)")
    elif not weights.is_url and not weights.source.endswith(SUFFIX):
        problems.append(f"source {weights.source!r} (expected a {SUFFIX} file or an http(s) URL)")
    if problems:
        raise PluginError(f"plugin {plugin!r}: weights {weights.full_name!r} have a bad " + "; ".join(problems) + ".")
    return weights
