"""A training run as library functions, one job per module: ``folder`` (run folder, resume
check, free disk), ``session`` (seed, determinism, strategy, model scope), ``callbacks``,
``fit`` (from a global step), ``final`` (test evaluation), ``train`` (``train(config)``, all of
it), ``tune`` (a keras-tuner search), ``evaluate`` (``training.evaluate``), and ``curves``,
``attribution``, ``masks`` and ``transfer`` (``training.analyze``'s commands, on run folders that
``loaded_run`` reads back).

The CLIs in ``training/`` parse arguments and call these; nothing here reads ``sys.argv``.
"""

from again_tf.run.train import train

__all__ = ["train"]
