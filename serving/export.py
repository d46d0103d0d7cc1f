"""``python -m serving.export SOURCE``: the deployed model as a SavedModel in TF Serving's layout.

    python -m serving.export runs/<run> [--base-dir serving_models] [--model-name again]
                             [--version N] [--checkpoint best_robust|last] [--dataset NAME]
                             [--max-image-pixels N]

writes ``<base>/<model>/<version>/`` (version: the next integer unless given), with the
``serving_default`` (float images) and ``predict_images_bytes`` (encoded images) signatures and
TF Serving warm-up requests, and ``<base>/models.config`` and ``<base>/batching_parameters.txt``
for the server. ``predict_images_bytes`` refuses, before decoding, any image over
``--max-image-pixels`` (width x height, summed over a GIF's frames; recorded in
``assets.extra/image_limits.json``). The version folder appears only when complete (written
aside, then renamed), so a TF Serving polling the folder never loads half a model.
"""

from __future__ import annotations

import argparse
import sys

from again_tf.config.paths import CHECKPOINTS, check_exists
from again_tf.errors import AgainError
from again_tf.tf_startup import import_tensorflow
from serving.batching import BatchingParameters
from serving.errors import ServingError
from serving.export_defaults import (
    DEFAULT_BASE_DIR,
    DEFAULT_MAX_IMAGE_PIXELS,
    DEFAULT_MODEL_NAME,
    SERVING_BASE,
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m serving.export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="a training run folder or a .keras checkpoint")
    parser.add_argument("--base-dir", default=DEFAULT_BASE_DIR, help="export base (default: %(default)s)")
    parser.add_argument("--model-name", default=DEFAULT_MODEL_NAME, help="default: %(default)s")
    parser.add_argument("--version", type=int, help="integer version (default: the next one)")
    parser.add_argument("--checkpoint", default=None, choices=CHECKPOINTS,
                        help="which checkpoint of a run folder (default: best_robust, chosen on held-out "
                        "training data; last for a run that validated on test images)")
    parser.add_argument("--dataset", help="the data set (default: the run's config.json)")
    parser.add_argument("--serving-base", default=SERVING_BASE,
                        help="the export base as the server sees it, written in models.config "
                        "(default: %(default)s)")
    parser.add_argument("--keep-versions", type=int, default=1, help="versions TF Serving keeps loaded")
    parser.add_argument("--max-image-pixels", type=int, default=DEFAULT_MAX_IMAGE_PIXELS,
                        help="predict_images_bytes refuses, before decoding, images with more pixels "
                        "(width x height, summed over a GIF's frames; default: %(default)s = 2048 x 2048)")
    defaults = BatchingParameters()
    for field in ("max_batch_size", "batch_timeout_micros", "max_enqueued_batches", "num_batch_threads"):
        parser.add_argument(f"--{field.replace('_', '-')}", type=int, default=getattr(defaults, field),
                            help="batching parameter (default: %(default)s)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        check_exists(args.source, "source", "a training run folder (runs/<name>) or a .keras checkpoint")
        import_tensorflow()
        from again_tf.engine.checkpoints import deployable_checkpoint
        from serving.export_model import export_model

        checkpoint = args.checkpoint or deployable_checkpoint(args.source)
        batching = BatchingParameters(args.max_batch_size, args.batch_timeout_micros,
                                      args.max_enqueued_batches, args.num_batch_threads)
        result = export_model(args.source, args.base_dir, args.model_name, args.version, checkpoint,
                              args.dataset, args.serving_base, args.keep_versions, batching,
                              args.max_image_pixels)
    except (ServingError, AgainError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"Exported {args.model_name} version {result.version} ({checkpoint}) to {result.version_dir}\n"
          f"  signatures: serving_default (images float32 [N, H, W, C] in [0, 1]), "
          f"predict_images_bytes (image_bytes string [N], PNG/JPEG/GIF/BMP/WebP of at most "
          f"{result.max_image_pixels} pixels each)\n"
          f"  TF Serving files: {result.models_config}, {result.batching_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
