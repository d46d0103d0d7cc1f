"""Where an export goes by default and where the Docker image keeps it: TensorFlow-free, so that
``serving.export`` can show them in ``--help`` before it imports TensorFlow."""

DEFAULT_BASE_DIR = "serving_models"
DEFAULT_MODEL_NAME = "again"
SERVING_BASE = "/models"  # the export base inside the Docker image
# Largest image (width x height, summed over a GIF's frames) predict_images_bytes decodes: see
# serving.signatures and docs/serving.md for why 2048 x 2048.
DEFAULT_MAX_IMAGE_PIXELS = 2048 * 2048
