"""The tiny training command line the CLI tests share, and a probe of the model a run trained."""

from __future__ import annotations

import tensorflow as tf

TINY = ["--preset", "quickstart", "--model.widths", "8,8,16", "--attack.steps", "1",
        "--optim.steps_per_epoch", "2", "--epochs", "2", "--batch-size", "32",
        "--data.val_examples", "64", "--data.test_examples", "64", "--eval.val_pgd_steps", "2",
        "--eval.test_pgd_steps", "2", "--verbose", "0"]

# Every monitor on (gap curves, adversarial images each epoch, span every 2nd epoch).
MONITORS = ["--eval.gap_examples", "48", "--eval.image_every", "1", "--eval.span_every", "2",
            "--eval.monitor_examples", "4"]


def xla_flags(model) -> list[bool]:
    """``_XlaMustCompile`` of every function traced into ``model.train_function``: [True, ...]
    when the train step runs as one XLA cluster, [False, ...] when it runs op by op."""
    found, seen, todo = [], set(), [model.train_function]
    while todo:
        fn = todo.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        if isinstance(fn, tf.types.experimental.PolymorphicFunction):
            for concrete in fn._list_all_concrete_functions():
                library = concrete.graph.as_graph_def().library.function
                found += [f.attr["_XlaMustCompile"].b for f in library if "_XlaMustCompile" in f.attr]
            continue
        # Keras wraps its tf.functions in plain Python closures (and functools.wraps).
        cells = [c.cell_contents for c in getattr(fn, "__closure__", None) or () if _filled(c)]
        todo += [v for v in [*cells, getattr(fn, "__wrapped__", None)] if callable(v)]
    return found


def _filled(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:
        return False
    return True
