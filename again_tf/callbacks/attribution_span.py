"""The attribution span (mass span, effective support of Integrated Gradients) during training,
on fixed test images, clean and adversarial; off by default (cost).

The values go into the epoch logs (metrics.csv columns) and, once, into TensorBoard's ``span``
run as ``span/<measure>_<kind>``; the callback comes after Keras' TensorBoard callback, which
would otherwise write them a second time as ``epoch_span_*``.
"""

from __future__ import annotations

from pathlib import Path

import keras
import tensorflow as tf

from again_tf.analysis import effective_support, integrated_gradients, mass_span, pixel_map
from again_tf.attacks.pgd import PGDSettings
from again_tf.callbacks.adversarial_images import adversarial_examples


class AttributionSpan(keras.callbacks.Callback):
    """Logs ``span_<measure>_<kind>`` every ``every`` epochs; the others log nothing (an empty
    metrics.csv cell, no TensorBoard point)."""

    def __init__(self, images, labels, attack: PGDSettings, log_dir: str | Path, every: int,
                 ig_steps: int = 16):
        super().__init__()
        self.images, self.labels = tf.constant(images), tf.constant(labels)
        self.attack, self.every, self.ig_steps = attack, every, ig_steps
        self.writer = tf.summary.create_file_writer(str(Path(log_dir) / "span"))

    def spans(self, x) -> dict[str, float]:
        maps = pixel_map(integrated_gradients(lambda v: self.model(v, training=False), x, self.labels,
                                              steps=self.ig_steps)).numpy()
        return {"mass_span": float(mass_span(maps).mean()),
                "effective_support": float(effective_support(maps).mean())}

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        x_adv = adversarial_examples(self.model, self.images, self.labels, self.attack)
        with self.writer.as_default():
            for kind, x in (("clean", self.images), ("pgd10", x_adv)):
                for name, value in self.spans(x).items():
                    tf.summary.scalar(f"span/{name}_{kind}", value, step=epoch + 1)
                    if logs is not None:
                        logs[f"span_{name}_{kind}"] = value
        self.writer.flush()
