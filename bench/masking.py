"""How much main-head-only PGD overstates the robustness of an ASE model.

    python -m bench.masking RUN_DIR [--n 1000] [--steps 20] [--checkpoint last]

Evaluates the run's checkpoint on the first n test images with PGD-k on CE of the main head
(``ce``), on CE through the auxiliary heads (``ce_aux``), and the per-example worst case of both
(what training.train reports). A large gap between ``ce`` and the worst case is gradient
masking by the inference-mode ASE masks.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import keras

import again_tf.engine  # noqa: F401  (registers the classes the checkpoint names)
from again_tf.config import get_preset, load_config_file
from again_tf.data import load_data
from again_tf.engine import compile_model, eval_attack_settings


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--checkpoint", default="last", choices=["last", "best_robust"])
    args = parser.parse_args(argv)
    config = load_config_file(args.run_dir / "config.json", get_preset("quickstart"))
    config = dataclasses.replace(config, data=dataclasses.replace(config.data, test_examples=args.n))
    data = load_data(config.data, config.seed)
    model = keras.models.load_model(args.run_dir / "checkpoints" / f"{args.checkpoint}.keras")
    compile_model(model, config, steps_per_epoch=1)
    settings = eval_attack_settings(config, args.steps)
    print(f"{args.run_dir} ({args.checkpoint}), {data.test_size} test images, PGD-{args.steps}, "
          f"eps {settings.eps:.4g}, step {settings.step_size:.4g}")
    for losses in (("ce",), ("ce_aux",), ("ce_aux", "ce")):
        model.eval_attack = dataclasses.replace(settings, losses=losses)
        model.test_function = None
        logs = model.evaluate(data.test, verbose=0, return_dict=True)
        print(f"  {' + '.join(losses):<10} clean {100 * logs['clean_accuracy']:6.2f}%  "
              f"robust {100 * logs['robust_accuracy']:6.2f}%")


if __name__ == "__main__":
    main()
