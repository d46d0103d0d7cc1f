"""The serving signatures of the deployed model: float images, and encoded image bytes.

Both check their input inside the graph (shape, empty batch, values in [0, 1]) with
``tf.debugging.Assert``, so TF Serving and ``serving.local`` reject the same requests with the
same message (INVALID_ARGUMENT, HTTP 400). Out-of-range values are rejected, not clipped: a
client that sends 0-255 pixels gets an error instead of silently wrong classes. Nothing here
calls back into Python at serving time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import tensorflow as tf

SERVING_DEFAULT = "serving_default"
BYTES_SIGNATURE = "predict_images_bytes"
IMAGES_INPUT = "images"
BYTES_INPUT = "image_bytes"
OUTPUT_NAMES = ("logits", "probabilities", "classes", "class_names")


def _assert(condition: tf.Tensor, *message):
    return tf.debugging.Assert(condition, list(message), summarize=8)


def checked_images(images: tf.Tensor, image_shape: Sequence[int]) -> tf.Tensor:
    """``images`` after the in-graph checks: ``[N, H, W, C]`` with N >= 1 and values in [0, 1]."""
    h, w, c = image_shape
    shape = tf.shape(images)
    padded = tf.concat([shape, tf.zeros([4], tf.int32)], axis=0)
    right_shape = tf.logical_and(tf.equal(tf.size(shape), 4),
                                 tf.reduce_all(tf.equal(padded[1:4], [h, w, c])))
    flat = tf.reshape(images, [-1])  # any rank: the shape check must not fail before it reports
    in_range = tf.reduce_all(tf.logical_and(flat >= 0.0, flat <= 1.0))  # False for NaN
    checks = [
        _assert(right_shape, f"images: expected shape [N, {h}, {w}, {c}] (N images); got", shape),
        _assert(tf.greater(padded[0], 0), "images: empty batch; send at least one image"),
        _assert(in_range, "images: pixel values must be in [0, 1] (divide 8-bit pixels by 255); got min",
                tf.reduce_min(flat), "max", tf.reduce_max(flat)),
    ]
    with tf.control_dependencies(checks):
        return tf.ensure_shape(tf.identity(images), [None, h, w, c])


def to_channels(image: tf.Tensor, channels: int) -> tf.Tensor:
    """Grey, grey + alpha, RGB or RGBA (decoded as stored) to ``channels`` (1 or 3); alpha is
    dropped. Decoding straight to 1 channel would fail on GIF (always RGB)."""
    has_color = tf.shape(image)[-1] >= 3
    if channels == 1:
        return tf.cond(has_color, lambda: tf.image.rgb_to_grayscale(image[..., :3]), lambda: image[..., :1])
    return tf.cond(has_color, lambda: image[..., :3], lambda: tf.image.grayscale_to_rgb(image[..., :1]))


def decode_images(image_bytes: tf.Tensor, image_shape: Sequence[int]) -> tf.Tensor:
    """PNG/JPEG/GIF/BMP/WebP strings to ``[N, H, W, C]`` floats in [0, 1], resized to H x W.

    An image already H x W with C channels passes through untouched, so 8-bit pixels give
    ``pixel / 255`` (to 1e-7), as the float signature expects.
    """
    h, w, c = image_shape
    _assert(tf.greater(tf.size(image_bytes), 0), "image_bytes: empty batch; send at least one image")

    def decode_one(data):
        image = tf.io.decode_image(data, channels=0, expand_animations=False, dtype=tf.float32)
        image = to_channels(image, c)
        same_size = tf.reduce_all(tf.equal(tf.shape(image)[:2], [h, w]))
        image = tf.cond(same_size, lambda: image,
                        lambda: tf.image.resize(image, [h, w], antialias=True))
        return tf.clip_by_value(tf.ensure_shape(image, [h, w, c]), 0.0, 1.0)  # resize overshoot

    return tf.map_fn(decode_one, image_bytes, fn_output_signature=tf.TensorSpec([h, w, c], tf.float32))


def classify(model: Callable, images: tf.Tensor, class_names: Sequence[str]) -> dict[str, tf.Tensor]:
    """The four named outputs of every signature, from the model in inference mode."""
    logits = model(images, training=False)
    classes = tf.argmax(logits, axis=-1, output_type=tf.int64)
    return {
        "logits": logits,
        "probabilities": tf.nn.softmax(logits, axis=-1),
        "classes": classes,
        "class_names": tf.gather(tf.constant(list(class_names)), classes),
    }


def serving_endpoints(model: Callable, image_shape: Sequence[int], class_names: Sequence[str]
                      ) -> dict[str, tuple[Callable, list[tf.TensorSpec]]]:
    """Signature name -> (function, input signature); the argument names are the input keys."""
    shape = tuple(int(d) for d in image_shape)

    def serve_images(images):
        return classify(model, checked_images(images, shape), class_names)

    def serve_image_bytes(image_bytes):
        return classify(model, decode_images(image_bytes, shape), class_names)

    return {
        SERVING_DEFAULT: (serve_images, [tf.TensorSpec([None, *shape], tf.float32, name=IMAGES_INPUT)]),
        BYTES_SIGNATURE: (serve_image_bytes, [tf.TensorSpec([None], tf.string, name=BYTES_INPUT)]),
    }
