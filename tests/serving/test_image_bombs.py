"""Image bombs: small files declaring huge images are refused by the bytes signature before
anything is decoded, inside the graph (so TF Serving is protected too), with a message naming
the image, its size and the cap. The files are real: the 23000 x 23000 PNG (514 kB) inflates
to 529 MB and decodes (before the header checks it took 3.9 GB and 15 s to answer)."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zlib

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from again_tf.data import dataset_info
from again_tf.engine import build_model
from serving.export import main as export_main
from serving.export_defaults import DEFAULT_MAX_IMAGE_PIXELS
from serving.export_model import LIMITS_FILE, export_model
from serving.signatures import (
    BYTES_SIGNATURE,
    FORMATS,
    decode_images,
    gif_block_budget,
    image_headers,
)
from tests.engine.helpers import tiny_config

CAP = DEFAULT_MAX_IMAGE_PIXELS
SHAPE = (28, 28, 1)


# ----- real files, small on disk, huge once decoded -----

def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def zero_png(width: int, height: int) -> bytes:
    """A valid 8-bit grey PNG of zeros, built in ~0.1 s: after a full flush deflate restarts,
    so one compressed 16 MiB piece of zeros is repeated, and the Adler-32 of n zeros is
    ``(n mod 65521) << 16 | 1``."""
    total, piece = (width + 1) * height, 1 << 24  # each row: filter byte 0, then the pixels
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = deflate.compress(bytes(piece)) + deflate.flush(zlib.Z_FULL_FLUSH)
    count, rest = divmod(total, piece)
    tail = zlib.compressobj(9, zlib.DEFLATED, -15)
    stream = (b"\x78\xda" + block * count + tail.compress(bytes(rest)) + tail.flush()
              + struct.pack(">I", (total % 65521) << 16 | 1))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", stream) + _chunk(b"IEND", b"")


def inflated_size(png: bytes) -> int:
    """Bytes the IDAT of ``zero_png`` inflates to, streamed 64 MiB at a time; checks the
    stream's end and checksum."""
    (length,) = struct.unpack(">I", png[33:37])
    inflate, size = zlib.decompressobj(), 0
    out = inflate.decompress(png[41:41 + length], 1 << 26)
    while out:
        size += len(out)
        out = inflate.decompress(inflate.unconsumed_tail, 1 << 26)
    assert inflate.eof
    return size


def jpeg_with_size(width: int, height: int) -> bytes:
    """An 8 x 8 JPEG whose SOF declares ``width`` x ``height`` (the scan is then short)."""
    data = tf.io.encode_jpeg(tf.zeros([8, 8, 1], tf.uint8)).numpy()
    pos = 2
    while not (0xC0 <= data[pos + 1] <= 0xCF and data[pos + 1] not in (0xC4, 0xC8, 0xCC)):
        pos += 2 + struct.unpack(">H", data[pos + 2:pos + 4])[0]
    return data[:pos + 5] + struct.pack(">HH", height, width) + data[pos + 9:]


def lzw_zeros(pixels: int) -> bytes:
    """GIF LZW data (minimum code size 2) of ``pixels`` zeros, one code per run: runs grow by
    one each code and the table is cleared when full, as a plain encoder does."""
    out, acc, nbits = bytearray(), 0, 0

    def emit(code, width):
        nonlocal acc, nbits
        acc, nbits = acc | code << nbits, nbits + width
        while nbits >= 8:
            out.append(acc & 0xFF)
            acc, nbits = acc >> 8, nbits - 8

    next_code, width, longest, code_of = 6, 3, 1, {1: 0}
    emit(4, width)  # clear
    while pixels > 0:
        run = min(longest, pixels)
        emit(code_of[run], width)
        pixels -= run
        if pixels and next_code < 4096:
            code_of[run + 1], longest, next_code = next_code, run + 1, next_code + 1
            width += next_code > (1 << width) and width < 12
        elif pixels:
            emit(4, width)
            next_code, width, longest, code_of = 6, 3, 1, {1: 0}
    emit(5, width)  # end of information
    return bytes(out) + (bytes([acc]) if nbits else b"")


def sub_blocks(data: bytes) -> bytes:
    return b"".join(bytes([len(data[i:i + 255])]) + data[i:i + 255] for i in range(0, len(data), 255)) + b"\0"


def gif(frames: list[tuple[int, int]], screen: tuple[int, int] = (1, 1)) -> bytes:
    """A GIF of all-zero frames (each a full, valid LZW stream) on a ``screen``-sized logical
    screen: TensorFlow sizes the canvas from the frames, not from the screen."""
    out = b"GIF89a" + struct.pack("<HHBBB", *screen, 0x81, 0, 0) + bytes(range(12))
    data = {size: sub_blocks(lzw_zeros(size[0] * size[1])) for size in set(frames)}
    for size in frames:
        out += b"\x2c" + struct.pack("<HHHHB", 0, 0, *size, 0) + b"\x02" + data[size]
    return out + b"\x3b"


def bmp_header(width: int, height: int) -> bytes:
    """A 24-bit BITMAPINFOHEADER BMP header with no pixels (negative height: top-down)."""
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 54, 0, 0, 54) + info


def riff(chunk: bytes, payload: bytes) -> bytes:
    body = b"WEBP" + chunk + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


def webp_vp8x(width: int, height: int, flags: int = 0) -> bytes:
    canvas = struct.pack("<I", width - 1)[:3] + struct.pack("<I", height - 1)[:3]
    return riff(b"VP8X", bytes([flags, 0, 0, 0]) + canvas)


def webp_vp8l(width: int, height: int) -> bytes:
    return riff(b"VP8L", b"\x2f" + struct.pack("<I", (width - 1) | (height - 1) << 14) + bytes(8))


def pillow(array: np.ndarray, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt, **options)
    return buffer.getvalue()


def webp_lossy_with_size(width: int, height: int) -> bytes:
    """A lossy (``VP8 ``) WebP whose frame header declares ``width`` x ``height``."""
    data = bytearray(pillow(np.zeros((16, 16, 3), np.uint8), "WEBP", quality=50))
    assert data[12:16] == b"VP8 "
    data[26:30] = struct.pack("<HH", width, height)
    return bytes(data)


BOMBS = {  # name: (bytes, message)
    "png": (zero_png(23000, 23000), "a PNG of 23000 x 23000 pixels (529000000 to decode)"),
    "jpeg": (jpeg_with_size(23000, 23000), "a JPEG of 23000 x 23000 pixels (529000000 to decode)"),
    "gif one frame": (gif([(23000, 23000)]), "a GIF of 23000 x 23000 pixels (529000000 to decode)"),
    "gif 300 frames": (gif([(256, 256)] * 300, screen=(256, 256)),
                       "a GIF of 256 x 256 pixels in 300 frames (19660800 to decode)"),
    "gif wide and tall frames": (gif([(4000, 1), (1, 4000)]),
                                 "a GIF of 4000 x 4000 pixels in 2 frames (16000000 to decode)"),
    "bmp top-down": (bmp_header(23000, -23000), "a BMP of 23000 x 23000 pixels (529000000 to decode)"),
    "webp vp8x": (webp_vp8x(23000, 23000), "a WebP of 23000 x 23000 pixels (529000000 to decode)"),
    "webp vp8l": (webp_vp8l(16384, 16384), "a WebP of 16384 x 16384 pixels (268435456 to decode)"),
    "webp vp8": (webp_lossy_with_size(16383, 16383), "a WebP of 16383 x 16383 pixels (268402689 to decode)"),
}


def test_the_bombs_are_small_real_files():
    sizes = {name: len(data) for name, (data, _) in BOMBS.items()}
    assert max(sizes.values()) < 1_000_000, sizes
    png = BOMBS["png"][0]
    assert 500_000 < len(png) < 530_000  # as the fuzz run's 514 kB file
    assert inflated_size(png) == 23001 * 23000  # every row's filter byte and pixels: a valid image
    small = zero_png(300, 200)
    assert tf.io.decode_png(small).shape == (200, 300, 1)
    frames = tf.io.decode_gif(gif([(64, 48)] * 3, screen=(1, 1)))
    assert frames.shape == (3, 48, 64, 3) and np.all(frames.numpy() == [0, 1, 2])  # colour 0 everywhere


# ----- the header reader, in-process -----

decode = tf.function(lambda image_bytes: decode_images(image_bytes, SHAPE),  # a graph, as served
                     input_signature=[tf.TensorSpec([None], tf.string)])


@pytest.fixture(scope="module")
def header():
    return tf.function(lambda data: image_headers(data[None], gif_block_budget(CAP))[0],
                       input_signature=[tf.TensorSpec([], tf.string)])


def _real_files() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (21, 33, 3), dtype=np.uint8)
    frames = [Image.fromarray(rng.integers(0, 256, (21, 33), dtype=np.uint8)) for _ in range(3)]
    animated = io.BytesIO()
    frames[0].save(animated, "GIF", save_all=True, append_images=frames[1:], comment=b"x" * 600, loop=0)
    return {
        "png grey": tf.io.encode_png(rgb[..., :1]).numpy(),
        "png rgba 16-bit": tf.io.encode_png(rng.integers(0, 65536, (21, 33, 4), dtype=np.uint16)).numpy(),
        "jpeg baseline": tf.io.encode_jpeg(rgb).numpy(),
        "jpeg progressive with exif": pillow(rgb, "JPEG", progressive=True, exif=b"Exif\0\0" + bytes(300)),
        "gif still": pillow(rgb[..., 0], "GIF"),
        "gif animated, local colours, comment": animated.getvalue(),
        "bmp rgb": pillow(rgb, "BMP"),
        "bmp grey palette": pillow(rgb[..., 0], "BMP"),
        "bmp rgba": pillow(np.dstack([rgb, rgb[..., :1]]), "BMP"),
        "bmp top-down": bmp_header(33, -21) + bytes(100 * 21),  # rows of 33 * 3 bytes padded to 100
        "webp lossless": pillow(rgb, "WEBP", lossless=True),
        "webp lossy": pillow(rgb, "WEBP", quality=80),
        "webp lossy alpha (VP8X)": pillow(np.dstack([rgb, rgb[..., :1]]), "WEBP", quality=80),
    }


@pytest.mark.parametrize("name", list(_real_files()))
def test_the_header_gives_the_size_the_decoder_allocates(header, name):
    data = _real_files()[name]
    kind, problem, width, height, frames, pixels = header(data).numpy().tolist()
    decoded = tf.io.decode_image(data, expand_animations=True).shape  # [frames,] height, width, channels
    assert FORMATS[kind].lower() == name.split()[0] and problem == 0
    assert (height, width) == tuple(decoded[-3:-1]) == (21, 33)
    assert frames == (decoded[0] if len(decoded) == 4 else 1) and pixels == frames * 21 * 33


@pytest.mark.parametrize("name", list(BOMBS))
def test_each_bomb_is_refused_before_decoding_with_its_size_and_the_cap(name):
    data, message = BOMBS[name]
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        decode(tf.constant([data]))
    assert f"image_bytes[0]: {message} is over the limit of {CAP} pixels per image; downscale it" \
        in caught.value.message


def test_a_batch_with_one_bomb_fails_whole_naming_its_index():
    good = tf.io.encode_png(np.zeros(SHAPE, np.uint8)).numpy()
    assert decode(tf.constant([good] * 3)).shape == (3, *SHAPE)
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        decode(tf.constant([good, good, BOMBS["jpeg"][0], good, BOMBS["png"][0]]))
    assert "image_bytes[2]: a JPEG of 23000 x 23000 pixels" in caught.value.message


def test_the_cap_is_inclusive():
    at_cap, over = zero_png(2048, 2048), zero_png(2049, 2048)
    assert decode(tf.constant([at_cap])).shape == (1, *SHAPE)
    with pytest.raises(tf.errors.InvalidArgumentError, match="2049 x 2048 pixels"):
        decode(tf.constant([over]))


def _gif_of_blocks(count: int) -> bytes:
    """One 8 x 8 frame whose data comes in ``count`` one-byte sub-blocks."""
    head = b"GIF89a" + struct.pack("<HHBBB", 8, 8, 0x81, 0, 0) + bytes(range(12))
    return head + b"\x2c" + struct.pack("<HHHHB", 0, 0, 8, 8, 0) + b"\x02" + b"\x01\x00" * count + b"\x00\x3b"


REFUSED = [
    pytest.param(b"not an image", "image_bytes[0]: not a PNG, JPEG, GIF, BMP or WebP file (12 bytes); send "
                 "the image in one of those formats.", id="unknown"),
    pytest.param(b"\xff\x0a" + bytes(30), "not a PNG, JPEG, GIF, BMP or WebP file (32 bytes)", id="jpeg xl"),
    pytest.param(zero_png(28, 28)[:20], "a truncated or malformed PNG header (20 bytes); send the whole "
                 "file.", id="png"),
    pytest.param(bmp_header(28, 28)[:30], "a truncated or malformed BMP header (30 bytes)", id="bmp"),
    pytest.param(b"GIF89a\x01\x00", "a truncated or malformed GIF header (8 bytes)", id="gif"),
    pytest.param(riff(b"VP8Z", bytes(10)), "a truncated or malformed WebP header (30 bytes)", id="webp"),
    pytest.param(webp_vp8x(28, 28, flags=0x02), "image_bytes[0]: an animated WebP; send one frame as a still "
                 "image.", id="animated webp"),
    pytest.param(_gif_of_blocks(gif_block_budget(CAP)), f"a GIF of more than {gif_block_budget(CAP)} blocks; "
                 "send a still image or another format.", id="gif of too many blocks"),
]


@pytest.mark.parametrize("data,message", REFUSED)
def test_unknown_malformed_and_unbounded_files_are_refused_clearly(data, message):
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        decode(tf.constant([data]))
    assert message in caught.value.message


def test_a_gif_just_under_the_block_budget_is_read():
    assert decode(tf.constant([_gif_of_blocks(gif_block_budget(CAP) - 10)])).shape == (1, *SHAPE)


def test_a_malformed_jpeg_header_is_refused_by_libjpeg():
    with pytest.raises(tf.errors.InvalidArgumentError, match="Invalid JPEG data, size 20"):
        decode(tf.constant([jpeg_with_size(28, 28)[:20]]))


# ----- the exported SavedModel, loaded by TensorFlow alone -----

SEND_SCRIPT = """
import json, sys, time
import tensorflow as tf

def peak_mb():
    status = open("/proc/self/status").read()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024

version_dir, files_path, out_path = sys.argv[1:]
predict = tf.saved_model.load(version_dir).signatures["predict_images_bytes"]
predict(image_bytes=tf.constant([tf.io.encode_png(tf.zeros([28, 28, 1], tf.uint8)).numpy()]))
files = json.load(open(files_path))
results, start = {}, peak_mb()
for name, path in files.items():
    data = open(path, "rb").read()
    began = time.perf_counter()
    try:
        predict(image_bytes=tf.constant([data]))
        message = None
    except tf.errors.InvalidArgumentError as err:
        message = err.message
    results[name] = {"message": message, "seconds": time.perf_counter() - began,
                     "peak_growth_mb": peak_mb() - start}
json.dump(results, open(out_path, "w"))
"""


@pytest.fixture(scope="module")
def untrained_export(tmp_path_factory):
    """An untrained tiny model (the graph and decoding are what matter) saved as .keras and
    exported with the default cap."""
    keras.utils.set_random_seed(0)
    root = tmp_path_factory.mktemp("bombs")
    model = build_model(tiny_config(), dataset_info("fashion_mnist"))
    model.save(root / "tiny.keras")
    result = export_model(root / "tiny.keras", root / "models", dataset="fashion_mnist")
    return root, result


@pytest.mark.slow
def test_the_exported_model_refuses_every_bomb_without_growing(untrained_export, tmp_path):
    _, result = untrained_export
    paths = {}
    for name, (data, _) in BOMBS.items():
        paths[name] = str(tmp_path / f"{len(paths)}.bin")
        (tmp_path / f"{len(paths) - 1}.bin").write_bytes(data)
    (tmp_path / "files.json").write_text(json.dumps(paths))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([sys.executable, "-c", SEND_SCRIPT, str(result.version_dir), str(tmp_path / "files.json"),
                    str(tmp_path / "out.json")], check=True, cwd=tmp_path, env=env, timeout=300)
    results = json.loads((tmp_path / "out.json").read_text())
    for name, (_, message) in BOMBS.items():
        got = results[name]
        assert got["message"] and f"{message} is over the limit of {CAP} pixels" in got["message"], name
        assert got["peak_growth_mb"] < 300, (name, got)  # the 23000 x 23000 PNG used to take 3.1 GB more
        assert got["seconds"] < 5, (name, got)


@pytest.mark.slow
def test_the_cap_is_an_export_option_recorded_in_the_export(untrained_export, tmp_path, capsys):
    root, result = untrained_export
    default = json.loads((result.version_dir / LIMITS_FILE).read_text())
    assert default == {"signature": BYTES_SIGNATURE, "max_image_pixels": CAP, "formats": list(FORMATS)}
    assert export_main([str(root / "tiny.keras"), "--dataset", "fashion_mnist", "--base-dir", str(tmp_path),
                        "--max-image-pixels", "90000"]) == 0
    assert "PNG/JPEG/GIF/BMP/WebP of at most 90000 pixels each" in capsys.readouterr().out
    version_dir = tmp_path / "again" / "1"
    assert json.loads((version_dir / LIMITS_FILE).read_text())["max_image_pixels"] == 90000
    predict = tf.saved_model.load(str(version_dir)).signatures[BYTES_SIGNATURE]
    assert predict(image_bytes=tf.constant([zero_png(300, 300)]))["logits"].shape == (1, 10)
    with pytest.raises(tf.errors.InvalidArgumentError, match="301 x 300 pixels .* limit of 90000 pixels"):
        predict(image_bytes=tf.constant([zero_png(301, 300)]))
    assert export_main([str(root / "tiny.keras"), "--dataset", "fashion_mnist", "--base-dir", str(tmp_path),
                        "--max-image-pixels", "783"]) == 2
    assert ("max-image-pixels: got 783; use an integer from 784 (the model's 28 x 28 input) to 536870912"
            in capsys.readouterr().err)
