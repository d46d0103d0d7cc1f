"""Which ``tf.distribute`` strategy a run uses, chosen from the config and the machine."""

from __future__ import annotations

import json
import os

import tensorflow as tf

from again_tf.errors import ConfigError


def cluster_size() -> int:
    """Workers named in ``TF_CONFIG`` (0 when it names no cluster)."""
    raw = os.environ.get("TF_CONFIG", "")
    if not raw:
        return 0
    try:
        cluster = json.loads(raw).get("cluster", {})
    except (json.JSONDecodeError, AttributeError):
        raise ConfigError(f"TF_CONFIG: not a JSON object ({raw[:80]!r}); see the multi-worker docs "
                          "for its {\"cluster\": ..., \"task\": ...} form.") from None
    return sum(len(v) for k, v in cluster.items() if k in ("chief", "worker"))


def _local_devices() -> list[str]:
    """GPUs if any, else the logical CPUs (more than one only when configured, as in tests)."""
    gpus = tf.config.list_logical_devices("GPU")
    return [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]


def make_strategy(name: str) -> tf.distribute.Strategy:
    """``auto``: MultiWorkerMirrored when TF_CONFIG names a cluster, Mirrored over the GPUs when
    there are several, else the default strategy; the others force that choice."""
    if name == "auto":
        if cluster_size() > 1:
            name = "multi_worker"
        elif len(tf.config.list_logical_devices("GPU")) > 1:
            name = "mirrored"
        else:
            name = "default"
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(_local_devices())
    if name == "multi_worker":
        if cluster_size() < 1:
            raise ConfigError("runtime.strategy=multi_worker needs TF_CONFIG with a cluster of "
                              "workers; set it on every worker, or use auto/mirrored/default.")
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ConfigError(f"runtime.strategy: got {name!r}; allowed: auto, default, mirrored, multi_worker.")


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """The worker that writes checkpoints, logs and exports: the ``chief`` task, or worker 0 when
    the cluster names no chief; every single-machine strategy is its own chief."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def cluster_workers(resolver: tf.distribute.cluster_resolver.ClusterResolver | None) -> int:
    """The chief and worker tasks a cluster resolver names (0 without a cluster): the count
    MultiWorkerMirroredStrategy trains with, read through its public ``cluster_resolver``."""
    if resolver is None:
        return 0
    spec = resolver.cluster_spec().as_dict()
    return len(spec.get("chief", [])) + len(spec.get("worker", []))


def keras_log_values(logs: dict) -> dict:
    """Logs as Keras' ``fit``/``evaluate`` can reduce them: across workers Keras 3 averages each
    value with ``reduce(MEAN, axis=0)``, which rejects scalars (tensorflow#72388), so there each
    value gets a batch axis of one; elsewhere the scalars are left as they are. Keras decides
    "across workers" as MultiWorkerMirroredStrategy with more than one worker, as here."""
    strategy = tf.distribute.get_strategy()
    multi_worker = (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
                    and cluster_workers(strategy.cluster_resolver) > 1)
    return {k: tf.reshape(v, [1]) for k, v in logs.items()} if multi_worker else logs
