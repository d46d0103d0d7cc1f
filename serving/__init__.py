"""Serving the deployed AGAIN model: SavedModel export for TF Serving, a client, a local server.

``python -m serving.export`` writes ``<base>/<model>/<version>/`` plus ``models.config`` and the
batching file; ``python -m serving.client`` talks to TF Serving (REST or gRPC);
``python -m serving.local`` answers TF Serving's REST API from the same SavedModel for machines
without Docker (production uses TF Serving). docs/serving.md has the commands.
"""
