"""Command-line programs: ``python -m training.train``, ``training.evaluate``,
``training.analyze`` and ``training.tune``."""
