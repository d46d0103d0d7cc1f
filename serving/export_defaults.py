"""Where an export goes by default and where the Docker image keeps it: TensorFlow-free, so that
``serving.export`` can show them in ``--help`` before it imports TensorFlow."""

DEFAULT_BASE_DIR = "serving_models"
DEFAULT_MODEL_NAME = "again"
SERVING_BASE = "/models"  # the export base inside the Docker image
