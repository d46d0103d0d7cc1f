"""The signature functions in-process (untrained tiny model): in-graph checks, decoding, outputs.
Oversized and malformed image files: tests/serving/test_image_bombs.py."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from again_tf.data import dataset_info
from again_tf.engine import build_model
from serving.signatures import BYTES_SIGNATURE, SERVING_DEFAULT, decode_images, serving_endpoints, to_channels
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
    ([b"not an image"], "image_bytes[0]: not a PNG, JPEG, GIF, BMP or WebP file (12 bytes); send the image "
     "in one of those formats."),
    ([], "image_bytes: empty batch; send at least one image"),
])
def test_the_graph_rejects_bad_bytes(endpoints, data, message):
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        endpoints[BYTES_SIGNATURE](tf.constant(data, dtype=tf.string))
    assert message in caught.value.message


def _pillow(pixels: np.ndarray, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, fmt, **options)
    return buffer.getvalue()


def _bmp_top_down(grey: np.ndarray) -> bytes:
    """An 8-bit grey BMP with a negative height (rows stored top-down), rows padded to 4 bytes."""
    height, width = grey.shape
    row = (width + 3) // 4 * 4
    pixels = np.zeros((height, row), np.uint8)
    pixels[:, :width] = grey
    offset = 14 + 40 + 1024
    info = struct.pack("<IiiHHIIiiII", 40, width, -height, 1, 8, 0, pixels.size, 2835, 2835, 256, 0)
    palette = bytes(b for i in range(256) for b in (i, i, i, 0))
    header = b"BM" + struct.pack("<IHHI", offset + pixels.size, 0, 0, offset)
    return header + info + palette + pixels.tobytes()


def _each_format(pixels: np.ndarray) -> dict[str, bytes]:
    """One 28 x 28 x 1 uint8 image in every accepted format; all lossless but JPEG."""
    grey = pixels[..., 0]
    return {"png": _png(pixels), "jpeg": tf.io.encode_jpeg(pixels, quality=90).numpy(),
            "gif": _pillow(grey, "GIF"), "bmp": _pillow(grey, "BMP"), "bmp top-down": _bmp_top_down(grey),
            "webp": _pillow(grey, "WEBP", lossless=True)}


def _before(data: bytes) -> np.ndarray:
    """What the bytes signature decoded before it read headers first: TensorFlow's float path."""
    image = tf.io.decode_image(data, channels=0, expand_animations=False, dtype=tf.float32)
    return to_channels(image, 1).numpy()


def test_each_format_decodes_as_before_and_predicts_as_its_pixels(endpoints):
    """Lossless formats give the pixels (GIF and WebP come back RGB: grey weights sum to 0.9999);
    JPEG gives what TensorFlow's decoder gave before. A top-down BMP used to abort the process in
    the float path (std::bad_alloc) and WebP failed (uint8 only): both now decode."""
    images = fashion(n_train=1, n_test=4)[2]
    pixels = np.round(images * 255).astype(np.uint8)
    files = [_each_format(p) for p in pixels]
    floats = endpoints[SERVING_DEFAULT](images)["logits"].numpy()
    for name in files[0]:
        encoded = tf.constant([f[name] for f in files])
        decoded = decode_images(encoded, INFO.image_shape).numpy()
        if name in ("png", "jpeg", "gif", "bmp"):
            np.testing.assert_array_equal(decoded, np.stack([_before(f[name]) for f in files]), err_msg=name)
        expected = np.stack([_before(f["jpeg"]) for f in files]) if name == "jpeg" else images
        assert np.max(np.abs(decoded - expected)) <= (1e-4 if name in ("gif", "webp") else 1e-7), name
        logits = endpoints[BYTES_SIGNATURE](encoded)["logits"].numpy()
        reference = endpoints[SERVING_DEFAULT](expected)["logits"].numpy() if name == "jpeg" else floats
        assert np.max(np.abs(logits - reference)) <= (1e-4 if name in ("gif", "webp") else 1e-5), name
