"""``kzoo list``, ``kzoo info`` and ``kzoo plugins``: reading the registry, never importing keras
(except ``info --summary``, which builds the model)."""

from __future__ import annotations

from typing import Any

import click

from .. import ModelSpec, TensorSpec, get, get_spec, list_models, plugin_infos
from ..config import format_value, parse_assignments
from .output import echo_json, echo_line, echo_table, listed, terminal_width
from .saved import names_a_file, show_saved

UNKNOWN = "?"  # a fact only a build can tell, with no manifest to read it from


def format_tensors(tensors: tuple[TensorSpec, ...] | None) -> str:
    if tensors is None:
        return UNKNOWN
    return " ".join(f"{t.name}{list(t.shape)}" for t in tensors)


def format_params(params: int | None) -> str:
    return UNKNOWN if params is None else f"{params:,}"


@click.command("list")
@click.argument("patterns", nargs=-1)
@click.option("-x", "--exclude", multiple=True, metavar="GLOB", help="Drop names matching GLOB (repeatable).")
@click.option("-t", "--tag", "tags", multiple=True, metavar="TAG", help="Only models with TAG (repeatable: all must match).")
@click.option("-p", "--plugin", metavar="NAME", help="Only models registered by plugin NAME.")
@click.option("-a", "--all", "include_aliases", is_flag=True, help="Also list deprecated alias names.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of model specs.")
def list_command(patterns, exclude, tags, plugin, include_aliases, as_json) -> None:
    """List models, optionally filtered by glob PATTERNS such as '*mlp*'.

    On a terminal each description is cut to fit its width (… marks a cut); piped or
    redirected, descriptions are whole. `kzoo info NAME` shows one model in full.

    \b
    Examples:
      kzoo list
      kzoo list '*mlp*' --exclude 'siamese*'
      kzoo list --tag multi-input --json
    """
    names = list_models(patterns, exclude=exclude, tags=tags, plugin=plugin, include_aliases=include_aliases)
    if as_json:
        echo_json([_spec_dict(name) for name in names])
        return
    if not names:
        click.echo("no models match; run `kzoo list` without filters, or `kzoo plugins` to see what loaded.", err=True)
        return
    rows = []
    for name in names:
        spec = get_spec(name)  # a deprecated alias's spec is its target's
        label = f"{name} (deprecated: use {spec.name})" if spec.name != name else name
        rows.append([label, "/".join(spec.apis) or UNKNOWN, format_tensors(spec.inputs), format_params(spec.params),
                     spec.plugin, spec.description])
    # On a terminal the description gets what is left of its width; piped, it is whole.
    echo_table(["name", "api", "inputs", "params", "plugin", "description"], rows, max_last=10_000, width=terminal_width())


def _spec_dict(name: str) -> dict:
    spec = get_spec(name)
    data = spec.to_dict()
    if spec.name != name:  # a deprecated alias
        data.update(name=name, deprecated_alias_of=spec.name)
    return data


@click.command("info")
@click.argument("name", metavar="NAME|FILE.keras")
@click.option("-s", "--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="Override a config value, e.g. --set num_classes=3 (repeatable).")
@click.option("--summary", is_flag=True, help="Build the model (imports keras) and print Keras's model.summary().")
@click.option("--json", "as_json", is_flag=True, help="Print the spec as JSON.")
def info_command(name, assignments, summary, as_json) -> None:
    """Show a model's metadata: description, inputs, outputs, default config, size.

    Facts only a build can tell (api style, inputs, outputs, parameter count) come from the
    plugin's manifest without importing keras; with --set or --summary the model is built
    and they are read from it. Given a saved FILE.keras, it shows what training recorded
    there (target and classes, input columns, options, last metrics), without keras.

    \b
    Examples:
      kzoo info two_input_mlp
      kzoo info mlp --set input_dim=64 --json
      kzoo info mlp --set api=functional --summary
      kzoo info m.keras
    """
    if names_a_file(name):
        if assignments or summary:
            raise click.UsageError("--set and --summary describe zoo models; a saved file's config is what "
                                   f"it was trained with: run `kzoo info {name}` alone.")
        show_saved(name, as_json)
        return
    overrides = parse_assignments(assignments)
    builder = get(name)
    config = builder.config(**overrides)
    spec = builder.spec
    facts = None
    if summary or config != dict(spec.default_config):
        facts = builder.facts(config)
    api_styles = [facts.api] if facts else list(spec.apis)
    inputs = facts.inputs if facts else spec.inputs
    outputs = facts.outputs if facts else spec.outputs
    params = facts.params if facts else spec.params
    if as_json:
        data = spec.to_dict()
        data["config"] = {k: format_value(v) for k, v in config.items()}
        data.update(inputs=None if inputs is None else [t.to_dict() for t in inputs],
                    outputs=None if outputs is None else [t.to_dict() for t in outputs], params=params)
        if facts:
            data["api"] = api_styles
        data["for_regression"] = _for_regression(builder)
        echo_json(data)
    else:
        _print_info(spec, api_styles, inputs, outputs, params, config, _for_regression(builder))
    if summary:
        from .. import build

        model = build(name, **overrides)
        click.echo()
        model.summary(print_fn=lambda line, *args, **kwargs: click.echo(line))


def _for_regression(builder: Any) -> dict[str, Any]:
    return {k: format_value(v) for k, v in builder.task_changes("regression").items()}


def _print_info(spec: ModelSpec, api_styles, inputs, outputs, params, config, for_regression=None) -> None:
    unknown = f"{UNKNOWN} (no manifest; `kzoo info {spec.name} --summary` builds it)"
    echo_line(f"{spec.name}: {spec.description}")
    echo_line(f"  api:      {' / '.join(api_styles) or unknown}")
    echo_line(f"  plugin:   {spec.plugin}")
    echo_line(f"  tags:     {', '.join(spec.tags) or '-'}")
    for label, value in (("paper", spec.paper), ("license", spec.license), ("backends", ", ".join(spec.backends))):
        if value:
            echo_line(f"  {label}:{' ' * (8 - len(label))}{value}")
    if spec.training:
        recipe = ", ".join(f"{k}={format_value(v)}" for k, v in spec.training.items())
        echo_line(f"  recipe:   {recipe} (kzoo train's defaults for it; flags override)")
    if for_regression:
        changes = ", ".join(f"{k}={v}" for k, v in for_regression.items())
        echo_line(f"  regression: {changes} (for a numeric target, in place of the above)")
    if spec.search_space:
        space = "; ".join(f"{k}={v}" for k, v in spec.search_space.items())
        echo_line(f"  search:   {space} (kzoo tune's space; --space overrides)")
    scope = "with the default config" if config == dict(spec.default_config) else "with this config"
    echo_line(f"  params:   {unknown if params is None else f'{params:,} ({scope})'}")
    echo_line("  inputs:" + ("" if inputs is not None else f" {unknown}"))
    for t in inputs or ():
        bounds = f", values in [{t.range[0]}, {t.range[1]})" if t.range else ""
        about = f": {t.description}" if t.description else ""
        echo_line(f"    {t.name}: shape {list(t.shape)} {t.dtype}{bounds}{about}")
    echo_line("  outputs:" + ("" if outputs is not None else f" {unknown}"))
    for t in outputs or ():
        loss = t.loss or "unknown (declare loss=... in the plugin)"
        echo_line(f"    {t.name}: shape {list(t.shape)}, loss {loss}, metrics {', '.join(t.metrics) or '-'}")
    echo_line("  config:")
    for key, value in config.items():
        changed = "" if spec.default_config.get(key) == value else f"   (default {format_value(spec.default_config[key])})"
        echo_line(f"    {key} = {format_value(value)}{changed}")


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of plugins.")
def plugins_command(as_json) -> None:
    """List the plugins kzoo loaded: name, distribution, version, models, status.

    \b
    Plugins are found through the `kzoo` entry-point group. Environment:
      KZOO_LOAD_PLUGINS=a,b     load only these plugins ("" loads none)
      KZOO_DISABLE_PLUGINS=a,b  skip these plugins
      KZOO_STRICT_PLUGINS=1     a plugin that fails to load is an error, not a warning
      KZOO_TRACE_PLUGINS=1      print every hook call with its plugin and duration
      KZOO_PLUGIN_TIMEOUT=5     warn, naming it, about a plugin still running after 5 s (0: off)
      KZOO_PLUGIN_ABANDON=60    stop waiting for a plugin after 60 s: it is marked failed (0: wait forever)
    """
    infos = plugin_infos()
    if as_json:
        echo_json([info.to_dict() for info in infos])
        return
    if not infos:
        click.echo("no plugins loaded; check KZOO_LOAD_PLUGINS / KZOO_DISABLE_PLUGINS.", err=True)
        return
    rows = [
        [i.name, i.distribution or "-", i.version or "-", listed(i.models) or "-",
         "ok" if i.status == "ok" else f"failed: {i.error}"]
        for i in infos
    ]
    echo_table(["plugin", "distribution", "version", "models", "status"], rows, max_last=200)
