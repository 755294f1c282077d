"""Training past one device: ``tf.distribute`` strategies (and JAX's ``keras.distribution``) by name,
what each allows, and which process writes files.

Keras 3.15 facts this module is built around (see docs/distributed.md):

- ``MirroredStrategy`` works with ``model.fit`` but not with ``steps_per_execution`` > 1, so the
  fast default must be switched off under it (:func:`steps_per_execution_for`); so must the
  PyTorch backend, which refuses it with or without a strategy.
- ``MultiWorkerMirroredStrategy`` does not work with ``model.fit`` (keras-team/keras#20585,
  tensorflow/tensorflow#72388), while a Keras ``train_step`` run by ``strategy.run`` inside a
  ``tf.function`` does: :func:`kzoo._engine.custom_loop.fit_custom_loop` is that loop.
- Only the chief writes files; the other workers write to a temporary folder they then delete,
  because saving may read synchronised variables, which is a collective op every worker must join
  (:func:`is_chief`, :func:`write_target`).

Importing this module does not import tensorflow; each function does, when called.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._system.backend import name as backend_name
from ..errors import ConfigError, option, outside_kzoo
from .options import DEFAULT_WORKER_TIMEOUT, STRATEGIES

if TYPE_CHECKING:  # pragma: no cover
    import tensorflow as tf

logger = logging.getLogger(__name__)

TF_CONFIG_EXAMPLE = (
    '\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}\''
)
_TF_CONFIG_HINT = (
    f"Set TF_CONFIG on each host, for example TF_CONFIG={TF_CONFIG_EXAMPLE} on the first host and "
    '"index": 1 on the second; see docs/distributed.md.'
)


# -- choosing a strategy ------------------------------------------------------------------------
def resolve_strategy(name: str | None, worker_timeout: float = DEFAULT_WORKER_TIMEOUT) -> tf.distribute.Strategy | None:
    """The ``tf.distribute`` strategy called ``name``, or ``None`` to train without one.

    ``"mirrored"``: ``MirroredStrategy`` over this machine's visible devices; with only one device
    (one replica) a warning and ``None``: one replica mirrors nothing and only slows every step.
    ``"multi-worker"``: ``MultiWorkerMirroredStrategy`` over the cluster described by ``TF_CONFIG``;
    call this before anything else touches TensorFlow (TF configures collectives at start-up).
    It first waits, at most ``worker_timeout`` seconds, until every other worker is up, naming
    those it waits for (TensorFlow itself would wait forever, deaf to SIGTERM and Ctrl-C).
    ``"data-parallel"``: ``keras.distribution.DataParallel`` over every local device (JAX only;
    one device: a warning and ``None``).

    Args:
        name: ``"default"`` (or None), ``"mirrored"``, ``"multi-worker"`` or ``"data-parallel"``.
        worker_timeout: seconds a multi-worker start waits for the other workers.

    Returns:
        The strategy (a ``keras.distribution`` for data-parallel), or None to train without one.

    Raises:
        kzoo.ConfigError: what :func:`check_strategy` refuses, ``worker_timeout`` <= 0, workers
            that do not answer in time, or TensorFlow already started when multi-worker begins.

    Example::

        strategy = distribute.resolve_strategy("mirrored")  # None on a one-device machine
        with distribute.scope(strategy):
            builder = kzoo.get("mlp")
            model = builder.compile(builder.build(input_dim=4, num_classes=3))
    """
    if name is None or name == "default":
        return None
    check_strategy(name)
    if not (worker_timeout > 0):
        raise ConfigError(f"worker_timeout={worker_timeout} is not allowed; expected seconds > 0, such as 300.")
    if name == "data-parallel":
        return _data_parallel()
    if name == "multi-worker":
        wait_for_workers(parse_tf_config(os.environ.get("TF_CONFIG")), worker_timeout)
    import tensorflow as tf

    if name == "mirrored":
        strategy = tf.distribute.MirroredStrategy()
        if strategy.num_replicas_in_sync <= 1:
            # One replica mirrors nothing and made each epoch about 21x slower on iris.
            import warnings

            warnings.warn("the mirrored strategy found one device here (it would make one replica, about 20x slower "
                          "per epoch); training without a strategy.", stacklevel=outside_kzoo())
            return None
        return strategy
    try:
        with _keep_signal_handlers():
            return tf.distribute.MultiWorkerMirroredStrategy()
    except (RuntimeError, ValueError) as exc:
        raise ConfigError(
            f"could not start multi-worker training ({type(exc).__name__}: {exc}). Choose the strategy "
            "before building models or running TensorFlow ops, and check TF_CONFIG."
        ) from exc


def check_strategy(name: str) -> None:
    """Fail now, without importing tensorflow, when strategy ``name`` cannot run here: an unknown
    name, a tf.distribute strategy off the TensorFlow backend, or a bad TF_CONFIG for multi-worker.

    Args:
        name: a strategy name, as for :func:`resolve_strategy` (``"default"`` always passes).

    Returns:
        None: passing is the answer.

    Raises:
        kzoo.ConfigError: saying what is wrong and what to use instead.

    Example:
        >>> distribute.check_strategy("default")
        >>> distribute.check_strategy("mirorred")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        kzoo.errors.ConfigError: unknown strategy 'mirorred'; expected one of: default, mirrored, ...
    """
    if name not in STRATEGIES:
        raise ConfigError(f"unknown strategy {name!r}; expected one of: {', '.join(STRATEGIES)}.")
    if name in ("mirrored", "multi-worker") and backend_name() != "tensorflow":
        raise ConfigError(f"strategy {name!r} is tf.distribute, which runs on the TensorFlow backend only (Keras runs "
                          f"on {backend_name()!r}); on JAX use the data-parallel strategy.")
    if name == "data-parallel" and backend_name() != "jax":
        raise ConfigError(f"the data-parallel strategy is keras.distribution.DataParallel, which kzoo runs on the JAX "
                          f"backend (Keras runs on {backend_name()!r}); use the jax backend, or the mirrored "
                          f"strategy on TensorFlow.")
    if name == "multi-worker":
        parse_tf_config(os.environ.get("TF_CONFIG"))


def _data_parallel() -> Any:
    """Keras's own ``keras.distribution.DataParallel`` over every local device (JAX only), or
    None with a warning when there is one device: one replica parallelises nothing."""
    import keras

    devices = keras.distribution.list_devices()
    if len(devices) <= 1:
        import warnings

        warnings.warn("the data-parallel strategy found one device here; training without a strategy.", stacklevel=outside_kzoo())
        return None
    return keras.distribution.DataParallel(devices=devices)


def is_keras_distribution(strategy: Any) -> bool:
    """True for a ``keras.distribution`` object (JAX), which needs none of tf.distribute's special cases.

    Args:
        strategy: what :func:`resolve_strategy` returned, or None.

    Returns:
        Whether ``strategy`` comes from ``keras.distribution`` (False for None and ``tf.distribute``).

    Example:
        >>> distribute.is_keras_distribution(None)
        False
    """
    return strategy is not None and type(strategy).__module__.startswith("keras.")


@contextlib.contextmanager
def _keep_signal_handlers() -> Iterator[None]:
    """TensorFlow's multi-worker start-up installs its own SIGTERM handler (preemption notices),
    after which SIGTERM no longer ends the run; put Python's handlers back afterwards."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            if handler is not None:
                signal.signal(sig, handler)


def wait_for_workers(config: Mapping[str, Any], timeout: float, poll: float = 0.5, report_every: float = 10.0) -> None:
    """Block until every other task in ``config``'s cluster accepts TCP connections on its
    address, or raise a ConfigError naming the missing ones after ``timeout`` seconds.

    Meanwhile this task answers on its own address (a plain listener, closed before TensorFlow
    binds the port), so the others see it too. The wait is in Python: Ctrl-C and SIGTERM work.
    :func:`resolve_strategy` calls it for ``"multi-worker"``; call it yourself only to build the
    strategy another way.

    Args:
        config: a checked ``TF_CONFIG`` (:func:`parse_tf_config`).
        timeout: seconds to wait for the last worker.
        poll: seconds between connection attempts.
        report_every: seconds between the "waiting for ..." lines on stderr.

    Returns:
        None, once every other task answers (at once when this is the only task).

    Raises:
        kzoo.ConfigError: this task's port is taken, or some task did not answer within ``timeout``.

    Example::

        distribute.wait_for_workers(distribute.parse_tf_config(os.environ["TF_CONFIG"]), timeout=300)
    """
    import socket
    import sys
    import threading
    import time

    task = config["task"]
    mine = config["cluster"][task["type"]][task["index"]]
    peers = {address: f"{kind} {i}" for kind, addresses in config["cluster"].items()
             for i, address in enumerate(addresses) if address != mine}
    if not peers:
        return
    host, _, port = mine.rpartition(":")
    listener = socket.socket(socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("", int(port)))
        listener.listen(16)
    except OSError as exc:
        listener.close()
        raise ConfigError(f"multi-worker start-up: cannot listen on this worker's address {mine} ({exc.strerror}); "
                          f"is another process using port {port}? Check TF_CONFIG.") from None
    stop = threading.Event()

    def answer() -> None:  # accept and let the peer close first (no TIME_WAIT on our port)
        listener.settimeout(poll)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2.0)
                try:
                    conn.recv(1)
                except OSError:
                    pass

    thread = threading.Thread(target=answer, name="kzoo-worker-listener", daemon=True)
    thread.start()
    start = time.monotonic()
    next_report = start
    pending = dict(peers)
    try:
        while pending:
            for address in list(pending):
                peer_host, _, peer_port = address.rpartition(":")
                try:
                    with socket.create_connection((peer_host.strip("[]"), int(peer_port)), timeout=poll):
                        pass
                except OSError:
                    continue
                del pending[address]
            if not pending:
                break
            now = time.monotonic()
            waiting = ", ".join(f"{address} ({name})" for address, name in pending.items())
            if now - start >= timeout:
                raise ConfigError(
                    f"multi-worker start-up: no answer from {waiting} within {timeout:g} s ({option('worker_timeout')}); "
                    f"start the same command on every host with its own TF_CONFIG task, or raise {option('worker_timeout')}."
                )
            if now >= next_report:
                print(f"kzoo: waiting for {waiting} to start ({now - start:.0f} s of {timeout:g} s)",
                      file=sys.stderr, flush=True)
                next_report = now + report_every
            time.sleep(poll)
    finally:
        stop.set()
        thread.join()
        listener.close()


def parse_tf_config(text: str | None) -> dict[str, Any]:
    """``TF_CONFIG`` checked: JSON with a ``cluster`` of ``host:port`` lists and this process's ``task``.

    Args:
        text: the ``TF_CONFIG`` value, such as ``os.environ.get("TF_CONFIG")``.

    Returns:
        The parsed config.

    Raises:
        kzoo.ConfigError: ``text`` is empty or not JSON, or its cluster or task is missing or
            wrong; the message says what to set.

    Example:
        >>> config = distribute.parse_tf_config(
        ...     '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 1}}')
        >>> config["task"]
        {'type': 'worker', 'index': 1}
    """
    if not text or not text.strip():
        raise ConfigError(f"multi-worker training needs TF_CONFIG, which is not set. {_TF_CONFIG_HINT}")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"TF_CONFIG is not valid JSON ({exc}). {_TF_CONFIG_HINT}") from exc
    cluster = config.get("cluster") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not cluster:
        raise ConfigError(f'TF_CONFIG has no "cluster" mapping of task types to host:port lists. {_TF_CONFIG_HINT}')
    for task_type, addresses in cluster.items():
        if not isinstance(addresses, list) or not addresses or not all(
            isinstance(a, str) and a.rpartition(":")[2].isdigit() for a in addresses
        ):
            raise ConfigError(
                f'TF_CONFIG cluster "{task_type}" must be a non-empty list of "host:port" strings, '
                f"got {addresses!r}. {_TF_CONFIG_HINT}"
            )
    task = config.get("task")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise ConfigError(f'TF_CONFIG has no "task" with "type" and "index" for this process. {_TF_CONFIG_HINT}')
    task_type, index = task["type"], task["index"]
    if task_type not in cluster:
        raise ConfigError(
            f'TF_CONFIG task type {task_type!r} is not in the cluster ({", ".join(cluster)}). {_TF_CONFIG_HINT}'
        )
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(cluster[task_type]):
        raise ConfigError(
            f'TF_CONFIG task index {index!r} is out of range: cluster "{task_type}" has '
            f"{len(cluster[task_type])} address(es), so index must be 0..{len(cluster[task_type]) - 1}."
        )
    return config


def supports_steps_per_execution(strategy: tf.distribute.Strategy | None) -> bool:
    """Whether ``model.fit`` may run several steps per call under ``strategy``.

    False for ``MirroredStrategy`` (fails in Keras 3.15) and ``MultiWorkerMirroredStrategy``
    (trained by the custom loop, one step per call).

    Args:
        strategy: a ``tf.distribute`` strategy, a ``keras.distribution``, or None.

    Returns:
        True without a strategy and for a ``keras.distribution``.

    Example:
        >>> distribute.supports_steps_per_execution(None)
        True
    """
    if strategy is None or is_keras_distribution(strategy):
        return True
    import tensorflow as tf

    return not isinstance(strategy, (tf.distribute.MirroredStrategy, tf.distribute.MultiWorkerMirroredStrategy))


def steps_per_execution_for(strategy: tf.distribute.Strategy | None, requested: int) -> int:
    """``requested``, or 1 with a note in the log when ``strategy`` or the backend cannot run
    several steps per call (Keras 3.15 refuses more than 1 on PyTorch, whose eager steps gain
    nothing from grouping).

    Args:
        strategy: a ``tf.distribute`` strategy, a ``keras.distribution``, or None.
        requested: the ``steps_per_execution`` asked for.

    Returns:
        The ``steps_per_execution`` to compile with.

    Example::

        spe = distribute.steps_per_execution_for(strategy, 32)  # 1 under MirroredStrategy
        model.compile(optimizer="adam", loss="mse", steps_per_execution=spe)
    """
    if requested > 1 and backend_name() == "torch":
        return 1
    if requested <= 1 or supports_steps_per_execution(strategy):
        return requested
    logger.info(
        "steps_per_execution=%d switched off (1) under %s: Keras 3.15 cannot run several steps per "
        "call with it; training is correct but slower per step.",
        requested,
        type(strategy).__name__,
    )
    return 1


def uses_custom_loop(strategy: tf.distribute.Strategy | None) -> bool:
    """True when ``model.fit`` does not work under ``strategy`` and the custom loop must train
    (:mod:`kzoo._engine.custom_loop`; :func:`kzoo._engine.loops.choose_loop` asks).

    Args:
        strategy: a ``tf.distribute`` strategy, a ``keras.distribution``, or None.

    Returns:
        True for ``MultiWorkerMirroredStrategy`` only.

    Example:
        >>> distribute.uses_custom_loop(None)
        False
    """
    if strategy is None or is_keras_distribution(strategy):
        return False
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def scope(strategy: tf.distribute.Strategy | None) -> contextlib.AbstractContextManager:
    """``strategy.scope()``, or a no-op without a strategy: build and compile models inside it (and,
    for a ``keras.distribution``, fit inside it too: Keras reads it when it batches the data).

    Args:
        strategy: what :func:`resolve_strategy` returned, or None.

    Returns:
        A context manager.

    Example::

        with distribute.scope(strategy):
            builder = kzoo.get("mlp")
            model = builder.compile(builder.build(input_dim=4, num_classes=3))
    """
    return strategy.scope() if strategy is not None else contextlib.nullcontext()


# -- who writes ---------------------------------------------------------------------------------
def is_chief(strategy: tf.distribute.Strategy | None) -> bool:
    """True for the one process that writes the model, metrics and checkpoints.

    Single-process training (no strategy, mirrored) is its own chief. In a cluster the chief is the
    ``chief`` task, or worker 0 when the cluster has no ``chief``.

    Args:
        strategy: what :func:`resolve_strategy` returned, or None.

    Returns:
        Whether this process writes.

    Example:
        >>> distribute.is_chief(None)
        True
    """
    resolver = getattr(strategy, "cluster_resolver", None) if strategy is not None else None
    if resolver is None:
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    if task_type is None or task_type == "chief":
        return True
    return task_type == "worker" and task_id == 0 and "chief" not in resolver.cluster_spec().as_dict()


@contextlib.contextmanager
def write_target(path: str | os.PathLike[str], strategy: tf.distribute.Strategy | None) -> Iterator[Path]:
    """Where this process writes ``path``: ``path`` itself on the chief, a throw-away copy elsewhere.

    Every worker must run the same save (it may all-reduce synchronised variables); the non-chief
    ones write under a temporary folder deleted on exit.

    Args:
        path: the file the chief writes.
        strategy: what :func:`resolve_strategy` returned, or None (then ``path`` itself).

    Yields:
        The path to write: ``path`` on the chief, a file of the same name in a temporary folder
        on the other workers.

    Example::

        with distribute.write_target("model.keras", strategy) as target:
            model.save(target)
    """
    path = Path(path)
    if is_chief(strategy):
        yield path
        return
    folder = tempfile.mkdtemp(prefix="kzoo-worker-")
    try:
        yield Path(folder) / path.name
    finally:
        shutil.rmtree(folder, ignore_errors=True)
