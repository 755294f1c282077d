"""``kzoo.model_table``: many models of one library from a table of rows, the builders named by
dotted path (``"pkg._build:classifier"``) and imported only when a model is built.

An adapter plugin wraps a whole library in a table and a few lines: each row is one architecture
(its name and the constants its build needs), every row shares one build function, one optional
backbone function and one default config, and the names share a namespace prefix
(``kapps/resnet50``). Listing reads the table alone: neither the library nor keras is imported
until a model is built, so no module of three-line shims is needed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._meta.spec import ModelSpec
from ..errors import PluginError
from .builder import ModelBuilder
from .declare import DOTTED_PATH, frozen, resolve, run_validate

if TYPE_CHECKING:  # pragma: no cover
    import keras

ROW_KEYS = ("config", "kit_config", "description", "tags", "paper", "license", "build", "backbone")
"""What a row may set besides its constants; everything else in a row is a constant of its build."""


class TableModel(ModelBuilder):
    """One row of a :func:`kzoo.model_table`: its build (and backbone) called with the row's
    constants and the config, both functions imported on the first build."""

    def __init__(self, spec: ModelSpec, constants: Mapping[str, Any], build: str, backbone: str | None,
                 validate: Callable[..., Any] | None, kit_config: Mapping[str, Any] | None = None) -> None:
        self.spec = spec
        self.kit_config = dict(kit_config or {})
        self.constants = dict(constants)
        self.build_path, self.backbone_path = build, backbone
        self._validate = validate

    @property
    def module(self) -> str:
        """The build function's module: its package holds the manifest (read without importing it)."""
        return self.build_path.partition(":")[0]

    @property
    def has_backbone(self) -> bool:
        return self.backbone_path is not None

    def validate_config(self, config: Mapping[str, Any]) -> None:
        run_validate(self._validate, config, self.spec.name)

    def _call(self, path: str, config: Mapping[str, Any], what: str) -> keras.Model:
        import keras

        where = f"model {self.spec.name!r} (plugin {self.spec.plugin!r})"
        model = resolve(path, where)(**self.constants, **config)  # a failure is named by guard.build_checked
        if not isinstance(model, keras.Model):
            raise PluginError(f"{where}: {path}() returned {type(model).__name__}; a model table's {what} function "
                              f"must return a keras.Model (a subclass, such as a library's own Functional, is one).")
        return model

    def build_model(self, config: Mapping[str, Any]) -> keras.Model:
        return self._call(self.build_path, config, "build")

    def build_backbone(self, config: Mapping[str, Any]) -> keras.Model:
        if self.backbone_path is None:
            return super().build_backbone(config)
        return self._call(self.backbone_path, config, "backbone")

    def __repr__(self) -> str:
        return f"<kzoo.model_table row {self.spec.name!r} ({self.build_path}) from plugin {self.spec.plugin!r}>"


def model_table(
    rows: Mapping[str, Mapping[str, Any]],
    *,
    build: str,
    backbone: str | None = None,
    prefix: str | None = None,
    config: Mapping[str, Any] | None = None,
    kit_config: Mapping[str, Any] | None = None,
    description: str = "{name}",
    tags: Sequence[str] = (),
    paper: str | None = None,
    license: str | None = None,
    validate: Callable[..., Any] | None = None,
) -> list[TableModel]:
    """The builders of a table of architectures, to register from ``kzoo_register_models``.

    Args:
        rows: per name (``"resnet50"``), the row: its constants, passed to the build functions as
            keyword arguments (``{"arch": "ResNet50"}``), and optionally ``config`` (over the
            table's), ``kit_config``, ``description``, ``tags`` (added to the table's), ``paper``,
            ``license``, ``build`` and ``backbone`` (this row's own dotted paths).
        build: ``"package.module:function"``: ``function(**constants, **config)`` returns the whole
            ``keras.Model``. Imported when a model is first built, never when listing.
        backbone: the same for the model without its head (``kzoo.build(name, head=False)``, what
            fine-tuning keeps): its input as the whole model's, one feature tensor out, its layers
            named as in the whole model (fine-tuning matches them by name). None: no backbone.
        prefix: the namespace of the names: ``"kapps"`` registers ``kapps/resnet50``.
        config: the default config every row shares (each key's type is fixed by its value).
        kit_config: config values the conformance kit trains and reloads each model with, such as
            ``{"input_shape": (32, 32, 3)}`` for ImageNet-sized defaults (its build and parameter
            checks keep the defaults); a row's ``kit_config`` is merged over it.
        description: one line per model, a format string over the row's name and constants
            (``"{arch} from keras.applications"``).
        tags, paper, license: metadata for ``kzoo list`` and ``kzoo info``.
        validate: ``validate(config)`` or ``validate(config, name)``, as :func:`kzoo.model` takes.

    Returns:
        One :class:`~kzoo.ModelBuilder` per row, in the table's order.

    Raises:
        kzoo.PluginError: a dotted path not in ``package.module:function`` form, a row key that
            is also a config key, or a description naming a value the row lacks.

    Example::

        MODELS = kzoo.model_table(
            {"resnet50": {"arch": "ResNet50"}, "mobilenet_v2": {"arch": "MobileNetV2"}},
            prefix="kapps", build="kzoo_kapps._build:classifier", backbone="kzoo_kapps._build:features",
            config={"input_shape": (32, 32, 3), "num_classes": 10}, description="{arch} from keras.applications",
        )

        @kzoo.hookimpl
        def kzoo_register_models(register):
            for builder in MODELS:
                register(builder)
    """
    builders = []
    for name, row in rows.items():
        full = f"{prefix}/{name}" if prefix else name
        where = f"model_table row {full!r}"
        paths = {"build": row.get("build", build), "backbone": row.get("backbone", backbone)}
        for key, path in paths.items():
            if path is not None and not (isinstance(path, str) and DOTTED_PATH.fullmatch(path)):
                raise PluginError(f"{where}: {key}={path!r} is not a dotted path; expected 'package.module:function'.")
        defaults = {str(k): frozen(v) for k, v in {**(config or {}), **row.get("config", {})}.items()}
        constants = {k: v for k, v in row.items() if k not in ROW_KEYS}
        clash = sorted(set(constants) & set(defaults))
        if clash:
            raise PluginError(f"{where}: {', '.join(clash)} is both a row constant and a config key; keep one.")
        try:
            line = row.get("description", description).format(name=name, prefix=prefix, **constants)
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise PluginError(f"{where}: the description names {exc}, which the row does not have.") from None
        spec = ModelSpec(name=full, description=line, default_config=defaults,
                         tags=(*tags, *row.get("tags", ())), paper=row.get("paper", paper),
                         license=row.get("license", license))
        kit = {str(k): frozen(v) for k, v in {**(kit_config or {}), **row.get("kit_config", {})}.items()}
        builders.append(TableModel(spec, constants, paths["build"], paths["backbone"], validate, kit))
    return builders
