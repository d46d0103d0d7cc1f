"""load_tfds's one error says which failure it was and the fix for that one: a missing package is
not a network problem, and "reach the host" is the advice for a failed download only.

The failures are real where they can be: real imports that fail, tfds's own re-raising, a refused
connection, and tfds's real download manager and builders on served archives
(``tests/data/tfds_archives.py``) with a wrong checksum, a truncated archive or bad labels.
"""

from __future__ import annotations

import contextlib
import importlib
import socket
import sys
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import requests
import tensorflow as tf
from tensorflow_datasets.core.download.download_manager import NonMatchingChecksumError
from tensorflow_datasets.core.download.util import DownloadError
from tensorflow_datasets.core.utils import py_utils

from again_tf.data import dataset_info, load_arrays, load_tfds
from again_tf.data.tfds_errors import classify_tfds_error, missing_module, pip_name, tfds_error_message
from again_tf.errors import DataError
from tests.data import tfds_archives

CIFAR10 = dataset_info("cifar10")
NETWORK_ADVICE = "network reaches the data set's host"


def _raised(action) -> BaseException:
    try:
        action()
    except BaseException as err:  # noqa: B036 (the test wants whatever it raised)
        return err
    raise AssertionError("expected an exception")


def _reraised_by_tfds(err: BaseException, suffix: str = "Failed importing it.") -> BaseException:
    """``err`` as tfds's lazy importer passes it on: a copy with a suffix, the original as cause."""
    def reraise():
        try:
            raise err
        except type(err) as caught:
            py_utils.reraise(caught, suffix=suffix)

    return _raised(reraise)


def _wrapped(err: BaseException) -> BaseException:
    """``err`` as the cause of a RuntimeError, as tfds wraps errors it adds context to."""
    def wrap():
        raise RuntimeError("Failed to construct dataset 'cifar10'") from err

    return _raised(wrap)


def test_a_missing_module_is_reported_as_the_package_to_install():
    real = _raised(lambda: importlib.import_module("again_tf_absent_package.sub"))
    assert isinstance(real, ModuleNotFoundError)
    copy = _reraised_by_tfds(real)
    assert copy.name is None  # tfds's copy loses the module's name: the message is read instead
    for err in (real, copy, _wrapped(copy)):
        failure = classify_tfds_error(err)
        assert failure.kind == "missing_package"
        assert missing_module(failure.cause) == "again_tf_absent_package"  # Python names the top level
    message = tfds_error_message(CIFAR10, classify_tfds_error(_wrapped(copy)))
    assert "needs the package 'again_tf_absent_package', which is not installed" in message
    assert f"{sys.executable} -m pip install again_tf_absent_package (or scripts/setup.sh" in message
    assert NETWORK_ADVICE not in message


def test_an_import_halted_by_sys_modules_names_its_module(monkeypatch):
    from tensorflow_datasets.core.lazy_imports_lib import lazy_imports

    monkeypatch.setitem(sys.modules, "scipy.io", None)  # what an uninstalled scipy looks like to tfds
    err = _raised(lambda: lazy_imports.scipy)
    failure = classify_tfds_error(err)
    assert failure.kind == "missing_package" and pip_name(missing_module(failure.cause)) == "scipy"


@pytest.mark.parametrize("module, package", [("PIL.Image", "pillow"), ("cv2", "opencv-python"),
                                             ("importlib_resources.abc", "importlib_resources"),
                                             ("google.protobuf.message", "protobuf"), ("scipy", "scipy")])
def test_pip_names_of_imports(module, package):
    assert pip_name(module) == package


def _import_a_missing_name():
    from json import no_such_name_in_json  # noqa: F401


def test_an_import_that_fails_otherwise_asks_to_reinstall_the_requirements():
    err = _raised(_import_a_missing_name)
    failure = classify_tfds_error(_wrapped(err))
    assert failure.kind == "broken_import"
    message = tfds_error_message(CIFAR10, failure)
    assert "cannot import name 'no_such_name_in_json'" in message
    assert f"{sys.executable} -m pip install -r requirements.txt" in message
    assert NETWORK_ADVICE not in message


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _refused_request() -> BaseException:
    """What requests raises when the host refuses the connection (no proxy from the environment)."""
    with requests.Session() as session:
        session.trust_env = False
        return _raised(lambda: session.get(f"http://127.0.0.1:{_closed_port()}/cifar-10-binary.tar.gz",
                                           timeout=10))


@pytest.mark.parametrize("make", [
    _refused_request,
    lambda: _raised(lambda: socket.create_connection(("127.0.0.1", _closed_port()), timeout=10)),
    lambda: socket.gaierror(-2, "Name or service not known"),
    lambda: DownloadError("Failed to get url https://www.cs.toronto.edu/~kriz/x.tar.gz. HTTP code: 404."),
    lambda: urllib.error.URLError("timed out"),
    lambda: TimeoutError("The read operation timed out"),
], ids=["requests-refused", "socket-refused", "dns", "tfds-http-404", "urllib", "timeout"])
def test_only_a_failed_download_gets_the_network_advice(make):
    err = make()
    failure = classify_tfds_error(_wrapped(err))
    assert failure.kind == "network" and failure.cause is err
    message = tfds_error_message(CIFAR10, failure, "/data/tfds")
    assert "the download failed (data_dir=/data/tfds)" in message and NETWORK_ADVICE in message
    assert f"{type(err).__name__}: " in message


@pytest.mark.parametrize("make, kind", [
    (lambda: NonMatchingChecksumError("Artifact https://h/x.tar.gz, downloaded to /d/x, has wrong checksum:"),
     "checksum"),
    (lambda: tf.errors.DataLossError(None, None, "corrupted record at 12"), "corrupt_file"),
    (lambda: EOFError("Compressed file ended before the end-of-stream marker was reached"), "corrupt_file"),
    (lambda: PermissionError(13, "Permission denied", "/data/tfds/cifar10"), "file_system"),
    (lambda: tf.errors.NotFoundError(None, None, "/data/tfds/cifar10/3.0.2/features.json"), "file_system"),
    (lambda: ValueError("cannot reshape array of size 784 into shape (60000,28,28,1)"), "other"),
])
def test_other_failures_get_their_own_message(make, kind):
    failure = classify_tfds_error(_wrapped(make()))
    assert failure.kind == kind
    assert NETWORK_ADVICE not in tfds_error_message(CIFAR10, failure, "/data/tfds")


def _load_served(tmp_path: Path, monkeypatch, archive: tfds_archives.Archive, info=CIFAR10,
                 register: bool = True) -> DataError:
    """The DataError of our loader when tfds downloads ``archive`` (served) and fails on it."""
    tfds_archives.serve(monkeypatch, archive.files, register=register)
    (tmp_path / "tfds").mkdir()
    with pytest.raises(DataError) as raised:
        load_arrays(info, "tfds", str(tmp_path / "tfds"))
    return raised.value


def test_tfds_checksum_mismatch_is_reported_as_such(tmp_path, monkeypatch):
    """A tiny archive where tfds expects the real one: tfds's own validation rejects it."""
    err = _load_served(tmp_path, monkeypatch, tfds_archives.write_cifar10(tmp_path / "a"), register=False)
    assert "has the wrong checksum (NonMatchingChecksumError: Artifact " \
           "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz" in str(err)
    assert NETWORK_ADVICE not in str(err)


def test_a_truncated_archive_is_reported_as_corrupt(tmp_path, monkeypatch):
    archive = tfds_archives.write_cifar10(tmp_path / "a")
    path = next(iter(archive.files.values()))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    err = _load_served(tmp_path, monkeypatch, archive)
    assert "truncated or corrupt (ExtractError: Error while extracting" in str(err)
    assert f"delete {tmp_path / 'tfds'}/cifar10 and this data set's files in {tmp_path / 'tfds'}/downloads" \
        in str(err)


def test_a_refused_connection_through_tfds_is_a_download_failure(tmp_path, monkeypatch):
    """tfds's downloader, with its HTTP request sent to a closed local port."""
    from tensorflow_datasets.core.download import downloader

    @contextlib.contextmanager
    def refused(url, **kwargs):
        raise _refused_request()
        yield  # pragma: no cover

    archive = tfds_archives.write_cifar10(tmp_path / "a")
    tfds_archives.serve(monkeypatch, archive.files)
    monkeypatch.setattr(downloader, "_open_url", refused)
    with pytest.raises(DataError, match="the download failed .*ConnectionError: .*127.0.0.1"):
        load_tfds(CIFAR10, str(tmp_path))


def test_a_builder_failure_is_not_called_a_download_failure(tmp_path, monkeypatch):
    """SVHN stores the digit 0 as 10; labels of 0 trip the real builder's own check."""
    archive = tfds_archives.write_svhn(tmp_path / "a")
    from scipy.io import loadmat, savemat

    train = next(path for url, path in archive.files.items() if url.endswith("train_32x32.mat"))
    savemat(train, {"X": loadmat(train)["X"], "y": np.zeros((40, 1), np.uint8)})
    err = _load_served(tmp_path, monkeypatch, archive, dataset_info("svhn_cropped"))
    assert "tensorflow-datasets failed" in str(err) and "This is not a download failure" in str(err)
    assert isinstance(err.__cause__, Exception)  # the builder's traceback stays chained


def test_a_missing_optional_package_of_a_builder_is_named(tmp_path, monkeypatch):
    """svhn_cropped's builder imports scipy only when it prepares the data set."""
    archive = tfds_archives.write_svhn(tmp_path / "a")
    monkeypatch.setitem(sys.modules, "scipy.io", None)
    err = _load_served(tmp_path, monkeypatch, archive, dataset_info("svhn_cropped"))
    assert f"needs the package 'scipy', which is not installed. Fix: {sys.executable} -m pip install scipy" \
        in str(err)


def test_not_prepared_without_download(tmp_path):
    with pytest.raises(DataError) as err:
        load_tfds(CIFAR10, data_dir=str(tmp_path), download=False)
    message = str(err.value)
    assert f"not prepared in data_dir={tmp_path}, and download=False" in message and "Fix:" in message


def test_a_data_dir_that_is_a_file_is_a_file_system_error(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(DataError, match="could not read or write a file under data_dir=.*file .*writable"):
        load_tfds(CIFAR10, data_dir=str(tmp_path / "file"))
