"""The serving signatures of the deployed model: float images, and encoded image bytes.

Both check their input inside the graph (shape, empty batch, values in [0, 1]) with
``tf.debugging.Assert``, so TF Serving and ``serving.local`` reject the same requests with the
same message (INVALID_ARGUMENT, HTTP 400). Out-of-range values are rejected, not clipped: a
client that sends 0-255 pixels gets an error instead of silently wrong classes. Nothing here
calls back into Python at serving time.

The bytes signature reads each file's header first (PNG IHDR, JPEG SOF through libjpeg's
header reader, every GIF frame's image descriptor, BMP and WebP headers) and refuses the whole
request, before any image is decoded, if one is not PNG/JPEG/GIF/BMP/WebP, has a malformed
header, or declares more pixels than the cap fixed at export: a 500 kB PNG can declare
23000 x 23000 pixels, which decode to gigabytes. The decoders allocate what the header says,
so checking the header bounds their memory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import tensorflow as tf

from serving.export_defaults import DEFAULT_MAX_IMAGE_PIXELS

SERVING_DEFAULT = "serving_default"
BYTES_SIGNATURE = "predict_images_bytes"
IMAGES_INPUT = "images"
BYTES_INPUT = "image_bytes"
OUTPUT_NAMES = ("logits", "probabilities", "classes", "class_names")

FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WebP")  # what predict_images_bytes accepts
PNG, JPEG, GIF, BMP, WEBP, UNKNOWN = range(6)  # kinds, in FORMATS' order
OK, MALFORMED, ANIMATED_WEBP, GIF_TOO_LONG = range(4)  # header problems
_HEAD = 32  # bytes of each file the fixed-position headers are read from


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


# The header readers take ``head`` (the first _HEAD bytes, int64, last axis) and ``size`` for
# one file or a batch of them: the fixed-position formats are read for a whole batch at once.

def _starts(head: tf.Tensor, magic: bytes, at: int = 0) -> tf.Tensor:
    found = tf.equal(head[..., at:at + len(magic)], tf.constant(list(magic), tf.int64))
    return tf.reduce_all(found, axis=-1)


def _uint(head: tf.Tensor, start: int, n: int, big_endian: bool = False) -> tf.Tensor:
    """The unsigned integer in bytes ``start`` to ``start + n`` (int64, no overflow up to 4 bytes)."""
    weights = [256 ** k for k in range(n)]
    weights = weights[::-1] if big_endian else weights
    return tf.reduce_sum(head[..., start:start + n] * tf.constant(weights, tf.int64), axis=-1)


def file_heads(image_bytes: tf.Tensor) -> tf.Tensor:
    """The first ``_HEAD`` bytes of each string as int64, zero-padded: only they are copied."""
    padded = tf.strings.join([tf.strings.substr(image_bytes, 0, _HEAD), "\0" * _HEAD])
    return tf.cast(tf.io.decode_raw(tf.strings.substr(padded, 0, _HEAD), tf.uint8), tf.int64)


def file_kind(head: tf.Tensor, size: tf.Tensor) -> tf.Tensor:
    """PNG, JPEG, GIF, BMP, WEBP or UNKNOWN from the magic bytes, tested in the order of
    TensorFlow's DecodeImage, so the header read here is the one the decoder will read. JPEG XL,
    which TensorFlow also decodes, is UNKNOWN: its header is bit-packed."""
    webp = _starts(head, b"RIFF") & (size > 12) & _starts(head, b"WEBP", 8)
    kind = tf.constant(UNKNOWN, tf.int64)
    for test, value in ((webp, WEBP), (_starts(head, b"BM"), BMP), (_starts(head, b"GIF8"), GIF),
                        (_starts(head, b"\x89PNG\r\n\x1a\n"), PNG), (_starts(head, b"\xff\xd8\xff"), JPEG)):
        kind = tf.where(test, tf.constant(value, tf.int64), kind)
    return kind


def _fields(ok, width, height, frames=1, pixels=None, problem=MALFORMED) -> tf.Tensor:
    """``[..., 5]`` int64: problem, width, height, frames, pixels (broadcast to ``width``)."""
    width, height = tf.cast(width, tf.int64), tf.cast(height, tf.int64)
    pixels = width * height if pixels is None else pixels
    problem = tf.where(ok, tf.constant(OK, tf.int64), tf.cast(problem, tf.int64))
    shape = tf.shape(width)
    values = (problem, width, height, frames, pixels)
    return tf.stack([tf.broadcast_to(tf.cast(v, tf.int64), shape) for v in values], axis=-1)


def _png_header(head, size):
    """IHDR, which libpng requires first: big-endian width and height at bytes 16 and 20."""
    ok = (size >= 24) & _starts(head, b"IHDR", 12)
    return _fields(ok, _uint(head, 16, 4, big_endian=True), _uint(head, 20, 4, big_endian=True))


def _jpeg_header(data):
    """libjpeg's own header reader (tf.io.extract_jpeg_shape): it stops at the first scan,
    allocates nothing for the pixels (0.2 ms on an 18 MB JPEG) and reads the SOF the decoder
    will use; a header it cannot read fails here with TensorFlow's ``Invalid JPEG data``."""
    shape = tf.io.extract_jpeg_shape(data, output_type=tf.int32)
    return _fields(tf.constant(True), shape[1], shape[0])


def _bmp_header(head, size):
    """The signed 32-bit width and height at bytes 18 and 22, where TensorFlow reads them
    (negative height: rows stored top-down)."""
    def signed(value):
        return tf.where(value >= 2 ** 31, value - 2 ** 32, value)
    width, height = signed(_uint(head, 18, 4)), signed(_uint(head, 22, 4))
    return _fields(size >= 32, tf.abs(width), tf.abs(height))


def _webp_header(head, size):
    """The dimensions libwebp reports: the VP8 frame header (14-bit), the VP8L header (14-bit,
    minus one) or the VP8X canvas (24-bit, minus one). Animations are refused."""
    vp8 = _starts(head, b"VP8 ", 12) & (size >= 30) & _starts(head, b"\x9d\x01\x2a", 23)
    vp8l = _starts(head, b"VP8L", 12) & (size >= 25) & tf.equal(head[..., 20], 0x2F)
    vp8x = _starts(head, b"VP8X", 12) & (size >= 30)
    bits = _uint(head, 21, 4)
    width = tf.where(vp8, _uint(head, 26, 2) % 2 ** 14,
                     tf.where(vp8l, bits % 2 ** 14 + 1, _uint(head, 24, 3) + 1))
    height = tf.where(vp8, _uint(head, 28, 2) % 2 ** 14,
                      tf.where(vp8l, bits // 2 ** 14 % 2 ** 14 + 1, _uint(head, 27, 3) + 1))
    animated = vp8x & tf.equal(head[..., 20] // 2 % 2, 1)
    problem = tf.where(animated, ANIMATED_WEBP, MALFORMED)
    return _fields((vp8 | vp8l | vp8x) & ~animated, width, height, problem=problem)


def gif_block_budget(max_pixels: int) -> int:
    """Records and data sub-blocks the GIF walk reads before refusing: LZW spends at most 12
    bits a pixel, so a GIF within the cap needs at most ``1.5 * max_pixels / 255`` full
    sub-blocks; 4096 more for extensions (1 MB of metadata). The walk costs ~10 us a block,
    so a GIF costs at most ~0.3 s to check at the default cap."""
    return max_pixels * 3 // 2 // 255 + 4096


def _color_table(flags: tf.Tensor) -> tf.Tensor:
    """Bytes of the colour table a GIF screen or image descriptor's flags announce."""
    return tf.where(flags >= 0x80, 3 * tf.bitwise.left_shift(tf.constant(2, flags.dtype), flags % 8), 0)


def _gif_header(data, head, size, max_blocks: int):
    """Walks the blocks as giflib's DGifSlurp does, for every frame's image descriptor.

    TensorFlow sizes the canvas from the largest frame (not the logical screen) and giflib
    decodes every frame, so the pixels to decode are max(widest x tallest, sum of frame areas).
    The walk stops at the trailer, an unknown record or the end (as giflib does); past
    ``max_blocks`` records and sub-blocks the GIF is refused.
    """
    raw = tf.io.decode_raw(tf.strings.join([data, "\0"]), tf.uint8)  # the 0 past the end stops a chain
    n = tf.size(raw) - 1

    def byte(pos):
        return tf.cast(tf.gather(raw, tf.minimum(pos, n)), tf.int32)

    def skip_sub_blocks(pos, budget):
        """The position after the chain's zero-length sub-block, and the sub-blocks read."""
        def next_block(pos, length, count):
            pos = pos + 1 + length
            return pos, byte(pos), count + 1
        pos, _, count = tf.while_loop(lambda pos, length, count: length > 0, next_block,
                                      (pos, byte(pos), 0), maximum_iterations=tf.maximum(budget, 0))
        return pos + 1, count

    def next_record(pos, used, done, frames, width, height, area):
        record = byte(pos)
        image, extension = tf.equal(record, 0x2C), tf.equal(record, 0x21)
        v = tf.cast(tf.gather(raw, tf.minimum(pos + tf.range(5, 10), n)), tf.int64)  # descriptor
        w, h = v[0] + 256 * v[1], v[2] + 256 * v[3]
        chain = tf.where(image, pos + 11 + tf.cast(_color_table(v[4]), tf.int32), pos + 2)
        end, count = tf.cond(image | extension, lambda: skip_sub_blocks(chain, max_blocks - used - 1),
                             lambda: (pos, 0))
        used = used + 1 + count
        done = ~(image | extension) | (end > n) | (used >= max_blocks)
        added = tf.cast(image, tf.int64)
        return (end, used, done, frames + added, tf.maximum(width, w * added),
                tf.maximum(height, h * added), area + w * h * added)

    zero = tf.constant(0, tf.int64)
    start = 13 + tf.cast(_color_table(head[..., 10]), tf.int32)
    _, used, _, frames, width, height, area = tf.while_loop(
        lambda pos, used, done, *_: ~done, next_record,
        (start, 0, tf.constant(False), zero, zero, zero, zero), maximum_iterations=max_blocks)
    problem = tf.where(size < 13, MALFORMED, GIF_TOO_LONG)
    ok = (size >= 13) & (used < max_blocks)
    return _fields(ok, width, height, frames, tf.maximum(width * height, area), problem)


def _per_file(fields: tf.Tensor, wanted: tf.Tensor, read: Callable, *inputs: tf.Tensor) -> tf.Tensor:
    """``fields`` with the rows where ``wanted`` replaced by ``read`` run on each such file: the
    formats whose header is not at a fixed position (JPEG, GIF) pay per file, the others not."""
    where = tf.where(wanted)
    chosen = tuple(tf.gather(x, where[:, 0]) for x in inputs)
    values = tf.map_fn(lambda args: read(*args), chosen, fn_output_signature=tf.TensorSpec([5], tf.int64))
    return tf.tensor_scatter_nd_update(fields, where, values)


def image_headers(image_bytes: tf.Tensor, max_gif_blocks: int) -> tf.Tensor:
    """``[N, 6]`` int64 per encoded image, from its header only: kind, problem, width, height,
    frames, pixels (what decoding it allocates per channel)."""
    head = file_heads(image_bytes)
    size = tf.cast(tf.strings.length(image_bytes), tf.int64)
    kind = file_kind(head, size)
    fields = _fields(tf.zeros_like(size, tf.bool), size * 0, size * 0)  # unknown, JPEG and GIF rows
    for value, reader in ((PNG, _png_header), (BMP, _bmp_header), (WEBP, _webp_header)):
        fields = tf.where(tf.equal(kind, value)[:, None], reader(head, size), fields)
    fields = _per_file(fields, tf.equal(kind, JPEG), _jpeg_header, image_bytes)
    fields = _per_file(fields, tf.equal(kind, GIF), lambda data, head, size: _gif_header(
        data, head, size, max_gif_blocks), image_bytes, head, size)
    return tf.concat([kind[:, None], fields], axis=1)


def _text(*parts) -> tf.Tensor:
    return tf.strings.join([p if isinstance(p, str) or p.dtype == tf.string else tf.strings.as_string(p)
                            for p in parts])


def refusal(index: tf.Tensor, header: tf.Tensor, size: tf.Tensor, max_pixels: int,
            image_shape: Sequence[int]) -> tf.Tensor:
    """The message for the refused image ``index``: what it is, the limit, and the fix."""
    kind, problem, width, height, frames, pixels = tf.unstack(header)
    name = tf.gather(tf.constant([*FORMATS, "unknown"]), kind)
    at = _text("image_bytes[", index, "]: ")
    in_frames = tf.where(frames > 1, _text(" in ", frames, " frames"), "")
    formats = ", ".join(FORMATS[:-1]) + " or " + FORMATS[-1]
    texts = tf.stack([  # indexed by problem (OK: over the limit), then unknown
        _text(at, "a ", name, " of ", width, " x ", height, " pixels", in_frames, " (", pixels,
              f" to decode) is over the limit of {max_pixels} pixels per image; downscale it "
              f"(the model takes {image_shape[0]} x {image_shape[1]} images) and send it again."),
        _text(at, "a truncated or malformed ", name, " header (", size, " bytes); send the whole file."),
        _text(at, "an animated WebP; send one frame as a still image."),
        _text(at, f"a GIF of more than {gif_block_budget(max_pixels)} blocks; send a still image or another "
              "format."),
        _text(at, "not a ", formats, " file (", size, " bytes); send the image in one of those formats."),
    ])
    which = tf.where(tf.equal(kind, UNKNOWN), tf.constant(4, tf.int64), problem)
    return texts[which]


def checked_image_bytes(image_bytes: tf.Tensor, image_shape: Sequence[int],
                        max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> tuple[tf.Tensor, tf.Tensor]:
    """``(image_bytes, kinds)`` once every header passed; until then nothing is decoded, and
    the first refused image fails the whole request with a message naming its index."""
    headers = image_headers(image_bytes, gif_block_budget(max_pixels))
    sizes = tf.cast(tf.strings.length(image_bytes), tf.int64)
    good = tf.not_equal(headers[:, 0], UNKNOWN) & tf.equal(headers[:, 1], OK) & (headers[:, 5] <= max_pixels)
    bad = ~good

    def message():
        index = tf.argmax(tf.cast(bad, tf.int32), output_type=tf.int64)
        return refusal(index, headers[index], sizes[index], max_pixels, image_shape)

    text = tf.cond(tf.reduce_any(bad), message, lambda: tf.constant(""))
    not_empty = tf.greater(tf.size(image_bytes), 0)
    checks = [_assert(not_empty, "image_bytes: empty batch; send at least one image"),
              _assert(~tf.reduce_any(bad), text)]
    with tf.control_dependencies(checks):
        return tf.identity(image_bytes), tf.identity(headers[:, 0])


def decode_image(data: tf.Tensor, kind: tf.Tensor) -> tf.Tensor:
    """One checked image as floats in [0, 1], channels as stored. PNG decodes straight to float
    (16-bit PNGs keep their precision); the others decode to uint8 and are scaled as
    TensorFlow's float path would (x * (1 / 255)): its float BMP path aborts the process on a
    top-down BMP (std::bad_alloc, TensorFlow 2.21) and WebP decodes to uint8 only."""
    def as_uint8():
        image = tf.io.decode_image(data, channels=0, expand_animations=False, dtype=tf.uint8)
        return tf.image.convert_image_dtype(image, tf.float32)

    return tf.cond(tf.equal(kind, PNG), lambda: tf.io.decode_image(data, channels=0, expand_animations=False,
                                                                   dtype=tf.float32), as_uint8)


def decode_images(image_bytes: tf.Tensor, image_shape: Sequence[int],
                  max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> tf.Tensor:
    """PNG/JPEG/GIF/BMP/WebP strings to ``[N, H, W, C]`` floats in [0, 1], resized to H x W,
    after ``checked_image_bytes`` (at most ``max_pixels`` per image).

    An image already H x W with C channels passes through untouched, so 8-bit pixels give
    ``pixel / 255`` (to 1e-7), as the float signature expects.
    """
    h, w, c = image_shape
    image_bytes, kinds = checked_image_bytes(image_bytes, image_shape, max_pixels)

    def decode_one(args):
        image = to_channels(decode_image(*args), c)
        same_size = tf.reduce_all(tf.equal(tf.shape(image)[:2], [h, w]))
        image = tf.cond(same_size, lambda: image,
                        lambda: tf.image.resize(image, [h, w], antialias=True))
        return tf.clip_by_value(tf.ensure_shape(image, [h, w, c]), 0.0, 1.0)  # resize overshoot

    spec = tf.TensorSpec([h, w, c], tf.float32)
    return tf.map_fn(decode_one, (image_bytes, kinds), fn_output_signature=spec)


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


def serving_endpoints(model: Callable, image_shape: Sequence[int], class_names: Sequence[str],
                      max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
                      ) -> dict[str, tuple[Callable, list[tf.TensorSpec]]]:
    """Signature name -> (function, input signature); the argument names are the input keys.
    ``max_image_pixels`` is baked into the bytes signature's graph."""
    shape = tuple(int(d) for d in image_shape)

    def serve_images(images):
        return classify(model, checked_images(images, shape), class_names)

    def serve_image_bytes(image_bytes):
        return classify(model, decode_images(image_bytes, shape, max_image_pixels), class_names)

    return {
        SERVING_DEFAULT: (serve_images, [tf.TensorSpec([None, *shape], tf.float32, name=IMAGES_INPUT)]),
        BYTES_SIGNATURE: (serve_image_bytes, [tf.TensorSpec([None], tf.string, name=BYTES_INPUT)]),
    }
