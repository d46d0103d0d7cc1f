"""Command-line programs: ``python -m training.train`` (and later evaluate, analyze, tune)."""
