"""Why a tensorflow-datasets load failed, and the fix for that cause: a missing package is not a
network problem, and "check the network" is the advice for a failed download only."""

from __future__ import annotations

import gzip
import http.client
import os
import re
import socket
import sys
import tarfile
import urllib.error
import zipfile
import zlib
from dataclasses import dataclass

from again_tf.data.catalog import FASHION_MNIST_DIR, DatasetInfo

# Import names whose pip package is named otherwise.
PIP_NAMES = {"PIL": "pillow", "cv2": "opencv-python", "sklearn": "scikit-learn", "yaml": "pyyaml",
             "bs4": "beautifulsoup4", "google.protobuf": "protobuf"}
_MISSING_MODULE = re.compile(r"No module named '([^']+)'|import of (\S+) halted")


@dataclass(frozen=True)
class TfdsFailure:
    """``kind`` (see ``classify_tfds_error``) and the exception of the chain that decided it."""

    kind: str
    cause: BaseException


def causes(err: BaseException | None) -> list[BaseException]:
    """``err`` and what it was raised from, outermost first (as Python's traceback shows them):
    tfds re-raises the original error wrapped (e.g. in a RuntimeError) to add context."""
    chain: list[BaseException] = []
    while err is not None and all(err is not seen for seen in chain):
        chain.append(err)
        err = err.__cause__ or (None if err.__suppress_context__ else err.__context__)
    return chain


def missing_module(err: BaseException) -> str | None:
    """The module an ImportError did not find; None when the import failed otherwise. tfds's
    re-raised copies lose ``.name``, so the message is read too."""
    if isinstance(err, ModuleNotFoundError) and err.name:
        return err.name
    match = _MISSING_MODULE.search(str(err)) if isinstance(err, ImportError) else None
    return next(group for group in match.groups() if group) if match else None


def pip_name(module: str) -> str:
    """The pip package that provides ``module``: its top-level name unless PIP_NAMES says."""
    for name, package in PIP_NAMES.items():
        if module == name or module.startswith(name + "."):
            return package
    return module.split(".")[0]


def _error_types() -> tuple[tuple[str, tuple[type[BaseException], ...]], ...]:
    """(kind, exception types) in the order they are looked for; imported late because they live
    in tfds and its dependencies, which may be what failed to import."""
    import requests
    import tensorflow as tf
    import urllib3
    from tensorflow_datasets.core.download.download_manager import NonMatchingChecksumError
    from tensorflow_datasets.core.download.extractor import ExtractError
    from tensorflow_datasets.core.download.util import DownloadError

    network = (ConnectionError, TimeoutError, socket.gaierror, socket.herror, urllib.error.URLError,
               http.client.HTTPException, requests.RequestException, urllib3.exceptions.HTTPError,
               DownloadError)
    corrupt = (ExtractError, tarfile.TarError, zipfile.BadZipFile, gzip.BadGzipFile, EOFError, zlib.error,
               tf.errors.DataLossError)
    file_system = (OSError, tf.errors.NotFoundError, tf.errors.PermissionDeniedError)  # tf.io.gfile's
    return (("checksum", (NonMatchingChecksumError,)), ("network", network), ("corrupt_file", corrupt),
            ("file_system", file_system))


def classify_tfds_error(err: BaseException) -> TfdsFailure:
    """What a tfds failure was: ``missing_package`` (a ModuleNotFoundError anywhere in the chain),
    ``broken_import`` (another ImportError), ``checksum``, ``network`` (DNS, connection, timeout,
    HTTP status), ``corrupt_file`` (an archive or prepared file that does not parse),
    ``file_system`` (any other OSError: permissions, a full disk, a missing file), ``not_prepared``
    (download=False and no prepared copy) or ``other``."""
    chain = causes(err)
    imports = [e for e in chain if isinstance(e, ImportError)]
    if imports:
        missing = [e for e in imports if missing_module(e)]
        if missing:
            return TfdsFailure("missing_package", missing[0])
        return TfdsFailure("broken_import", imports[0])
    for kind, types in _error_types():
        found = [e for e in chain if isinstance(e, types)]
        if found:
            return TfdsFailure(kind, found[0])
    if any("could not find data" in str(e) for e in chain):  # tfds's AssertionError
        return TfdsFailure("not_prepared", err)
    return TfdsFailure("other", err)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0]}" if text else type(err).__name__


def tfds_error_message(info: DatasetInfo, failure: TfdsFailure, data_dir: str | None = None,
                       download: bool = True) -> str:
    """One message for the user: which failure it was, what it said, and the fix for that one."""
    where = data_dir or os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets")
    name, first, pip = repr(info.name), _first_line(failure.cause), f"{sys.executable} -m pip install"
    hint = (
        " For fashion_mnist, use the IDX files instead: data.source=folder "
        f"(default folder {FASHION_MNIST_DIR}, from Debian's dataset-fashion-mnist)."
        if info.name == "fashion_mnist" else ""
    )
    if failure.kind == "missing_package":
        package = pip_name(missing_module(failure.cause))
        return (f"Could not load {name}: tensorflow-datasets needs the package {package!r}, which is not "
                f"installed. Fix: {pip} {package} (or scripts/setup.sh, which installs requirements.txt)."
                f"{hint}")
    fixes = {
        "broken_import": f"tensorflow-datasets failed to import a package ({first}): an installed version "
                         f"does not match. Fix: {pip} -r requirements.txt (or scripts/setup.sh).",
        "checksum": f"a file tensorflow-datasets downloaded has the wrong checksum ({first}). Fix: delete "
                    f"that file and run again (an interrupted download or a proxy's error page does "
                    f"this); if it happens again, the host serves another file than this tensorflow-"
                    f"datasets expects: upgrade it, or copy a prepared tfds folder and set data.data_dir "
                    f"to it.",
        "network": f"the download failed (data_dir={where}): {first}. Fix: run once where the network "
                   f"reaches the data set's host, or copy a prepared tfds folder and set data.data_dir to "
                   f"it.",
        "corrupt_file": f"tensorflow-datasets could not read a downloaded or prepared file, which is "
                        f"truncated or corrupt ({first}). Fix: delete {where}/{info.tfds_name} and this "
                        f"data set's files in {where}/downloads, then run again: tfds downloads and "
                        f"prepares it anew.",
        "file_system": f"tensorflow-datasets could not read or write a file under data_dir={where} "
                       f"({first}). Fix: make sure the folder is writable and has free space, or set "
                       f"data.data_dir to one that is.",
        "not_prepared": f"not prepared in data_dir={where}, and download={download}. Fix: allow the "
                        f"download, or set data.data_dir to a folder holding a prepared copy "
                        f"({info.tfds_name}/<version>/ inside it).",
    }
    other = (f"tensorflow-datasets failed (data_dir={where}, download={download}): {first}. This is "
             f"not a download failure. Fix: delete {where}/{info.tfds_name} (a partial or incompatible "
             f"prepared copy) and run again; in Python, the cause's traceback is chained to this error.")
    return f"Could not load {name} with tensorflow-datasets: {fixes.get(failure.kind, other)}{hint}"
