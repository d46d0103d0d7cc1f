"""The Dockerfile, parsed by Docker's own parser (the ``dockerfile`` package wraps BuildKit's Go
parser): stages, pinned bases, ports, and the serve flags against the files the exporter writes."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import dockerfile
import pytest
import tensorflow as tf
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from serving.batching import parse as parse_batching
from serving.export_defaults import DEFAULT_BASE_DIR, SERVING_BASE
from serving.tf_serving_files import BATCHING_FILE, MODELS_CONFIG

ROOT = Path(__file__).resolve().parents[2]
PINNED = re.compile(r"^[\w./-]+:(\d+)\.(\d+)\.(\d+)[\w.-]*(@sha256:[0-9a-f]{64})?$")


@pytest.fixture(scope="module")
def stages() -> dict[str, list]:
    """Stage name -> its instructions, FROM first."""
    found: dict[str, list] = {}
    current = None
    for command in dockerfile.parse_file(str(ROOT / "Dockerfile")):
        if command.cmd == "FROM":
            assert len(command.value) == 3 and command.value[1].upper() == "AS", command.original
            current = found.setdefault(command.value[2], [])
        assert current is not None, f"{command.original} comes before the first FROM"
        current.append(command)
    return found


def _one(stage, cmd):
    (command,) = [c for c in stage if c.cmd == cmd]
    return command


def _flags(entrypoint) -> dict[str, str]:
    return dict(arg.split("=", 1) for arg in entrypoint.value[1:])


def test_two_stages_on_pinned_base_images(stages):
    assert list(stages) == ["train", "serve"]
    for stage in stages.values():
        image = stage[0].value[0]
        assert PINNED.match(image) and "latest" not in image, image
    assert stages["train"][0].value[0].startswith("python:3.11.")
    serving = PINNED.match(stages["serve"][0].value[0])
    assert stages["serve"][0].value[0].startswith("tensorflow/serving:")
    # TF Serving must be at least as new as the TensorFlow that writes the SavedModel
    assert (int(serving[1]), int(serving[2])) >= tuple(int(v) for v in tf.__version__.split(".")[:2])


def test_the_train_target_installs_the_requirements_and_runs_training(stages):
    train = stages["train"]
    copies = [c.value for c in train if c.cmd == "COPY"]
    assert copies[0] == ("requirements.txt", ".")
    runs = [c.value[0] for c in train if c.cmd == "RUN"]
    assert any("pip install" in run and "-r requirements.txt" in run for run in runs)
    entrypoint = _one(train, "ENTRYPOINT")
    assert entrypoint.json and entrypoint.value == ("python", "-m", "training.train")
    for source, _ in copies:
        assert (ROOT / source).exists(), source


def test_the_serve_target_runs_tf_serving_on_the_exported_files(stages, exported):
    serve = stages["serve"]
    assert set(_one(serve, "EXPOSE").value) == {"8500", "8501"}
    assert _one(serve, "ARG").value == (f"MODEL_DIR={DEFAULT_BASE_DIR}",)
    assert _one(serve, "COPY").value == ("${MODEL_DIR}/", f"{SERVING_BASE}/")
    entrypoint = _one(serve, "ENTRYPOINT")
    assert entrypoint.json and entrypoint.value[0] == "/usr/bin/tensorflow_model_server"
    flags = _flags(entrypoint)
    assert flags["--port"] == "8500" and flags["--rest_api_port"] == "8501"
    assert flags["--enable_batching"] == "true"
    assert flags["--model_config_file"] == f"{SERVING_BASE}/{MODELS_CONFIG}"
    assert flags["--batching_parameters_file"] == f"{SERVING_BASE}/{BATCHING_FILE}"
    # In the image, /models holds the export base: each path the server reads must exist there.
    in_image = lambda path: exported.base / Path(path).relative_to(SERVING_BASE)
    parse_batching(in_image(flags["--batching_parameters_file"]).read_text())
    config = model_server_config_pb2.ModelServerConfig()
    text_format.Parse(in_image(flags["--model_config_file"]).read_text(), config)
    (model,) = config.model_config_list.config
    assert (in_image(model.base_path) / "1" / "saved_model.pb").is_file()


def test_dockerignore_keeps_what_the_build_copies(stages):
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    needed = [DEFAULT_BASE_DIR, "requirements.txt"] + [c.value[0] for c in stages["train"] if c.cmd == "COPY"]
    for path in needed:
        assert not any(fnmatch.fnmatch(path, p.removeprefix("**/")) for p in patterns), path
    assert ".venv" in patterns and ".git" in patterns
