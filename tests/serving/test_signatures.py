"""The signature functions in-process (untrained tiny model): in-graph checks, decoding, outputs."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from again_tf.data import dataset_info
from again_tf.engine import build_model
from serving.signatures import BYTES_SIGNATURE, SERVING_DEFAULT, decode_images, serving_endpoints
from tests.engine.helpers import fashion, tiny_config

INFO = dataset_info("fashion_mnist")


@pytest.fixture(scope="module")
def endpoints():
    """Signature name -> tf.function; the float one accepts any shape, as TF Serving feeds it."""
    model = build_model(tiny_config(), INFO)
    fns = serving_endpoints(model, INFO.image_shape, INFO.class_names)
    images, _ = fns[SERVING_DEFAULT]
    image_bytes, spec = fns[BYTES_SIGNATURE]
    return {SERVING_DEFAULT: tf.function(images, input_signature=[tf.TensorSpec(None, tf.float32)]),
            BYTES_SIGNATURE: tf.function(image_bytes, input_signature=spec), "model": model}


def _png(pixels: np.ndarray) -> bytes:
    return tf.io.encode_png(pixels).numpy()


def test_outputs_are_consistent_with_the_logits(endpoints):
    images = fashion(n_train=1, n_test=16)[2]
    out = {k: v.numpy() for k, v in endpoints[SERVING_DEFAULT](images).items()}
    np.testing.assert_allclose(out["logits"], endpoints["model"](images, training=False).numpy(), atol=1e-6)
    np.testing.assert_array_equal(out["classes"], out["logits"].argmax(axis=1))
    assert out["classes"].dtype == np.int64
    np.testing.assert_allclose(out["probabilities"].sum(axis=1), 1.0, atol=1e-6)
    assert [n.decode() for n in out["class_names"]] == [INFO.class_names[c] for c in out["classes"]]


@pytest.mark.parametrize("images,message", [
    (np.full((2, 28, 28, 1), 1.5, np.float32),
     "must be in [0, 1] (divide 8-bit pixels by 255); got min] [1.5] [max] [1.5]"),
    (np.full((1, 28, 28, 1), -0.1, np.float32), "got min] [-0.1]"),
    (np.full((1, 28, 28, 1), np.nan, np.float32), "pixel values must be in [0, 1]"),
    (np.zeros((1, 28, 28), np.float32), "expected shape [N, 28, 28, 1] (N images); got] [1 28 28"),
    (np.zeros((1, 32, 32, 1), np.float32), "expected shape [N, 28, 28, 1] (N images); got] [1 32 32 1"),
    (np.zeros((0, 28, 28, 1), np.float32), "empty batch; send at least one image"),
])
def test_the_graph_rejects_bad_images(endpoints, images, message):
    """As TF Serving returns them: TensorFlow's raw ``assertion failed: [text] [value] ...``."""
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        endpoints[SERVING_DEFAULT](images)
    assert message in caught.value.message


def test_values_at_the_ends_of_the_range_are_accepted(endpoints):
    images = np.concatenate([np.zeros((1, 28, 28, 1)), np.ones((1, 28, 28, 1))]).astype(np.float32)
    assert endpoints[SERVING_DEFAULT](images)["logits"].shape == (2, 10)


def test_png_bytes_give_the_same_logits_as_the_pixels(endpoints):
    images = fashion(n_train=1, n_test=8)[2]
    pixels = np.round(images * 255).astype(np.uint8)
    decoded = endpoints[BYTES_SIGNATURE](tf.constant([_png(p) for p in pixels]))
    floats = endpoints[SERVING_DEFAULT](images)
    assert np.max(np.abs(decoded["logits"].numpy() - floats["logits"].numpy())) <= 1e-5


GIF_1X1 = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,"
           b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")  # the classic 43-byte GIF


def test_other_sizes_channels_and_formats_are_converted():
    pixels = np.round(fashion(n_train=1, n_test=1)[2][0] * 255).astype(np.uint8)
    big_rgb = np.repeat(np.repeat(np.repeat(pixels, 2, axis=0), 2, axis=1), 3, axis=2)  # 56 x 56 x 3
    rgba = np.concatenate([np.repeat(pixels, 3, axis=2), np.full_like(pixels, 255)], axis=2)
    jpeg = tf.io.encode_jpeg(pixels, quality=95).numpy()
    encoded = [_png(pixels), _png(big_rgb), jpeg, _png(rgba), GIF_1X1]
    decoded = decode_images(tf.constant(encoded), INFO.image_shape).numpy()
    assert decoded.shape == (5, 28, 28, 1) and decoded.min() >= 0.0 and decoded.max() <= 1.0
    np.testing.assert_allclose(decoded[0], pixels / np.float32(255), rtol=0, atol=1e-7)  # x * (1 / 255)
    for index in (1, 2, 3):  # grey from RGB with a 2x downscale; lossy JPEG; RGBA
        assert np.mean(np.abs(decoded[index] - decoded[0])) < 0.03, index
    rgb = decode_images(tf.constant([_png(pixels)]), (32, 32, 3)).numpy()
    assert rgb.shape == (1, 32, 32, 3) and np.allclose(rgb[..., 0], rgb[..., 2])


@pytest.mark.parametrize("data,message", [
    ([b"not an image"], "Unknown image file format"),
    ([], "image_bytes: empty batch; send at least one image"),
])
def test_the_graph_rejects_bad_bytes(endpoints, data, message):
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        endpoints[BYTES_SIGNATURE](tf.constant(data, dtype=tf.string))
    assert message in caught.value.message
