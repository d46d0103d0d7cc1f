"""The exported SavedModel: TensorFlow alone reproduces the Keras model; signatures, graph, variables,
versions and the CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_serving.config import model_server_config_pb2

from again_tf.data.catalog import FASHION_CLASSES
from again_tf.engine.checkpoints import deployable_checkpoint
from serving.export import main
from serving.export_model import export_model, next_version
from serving.signatures import OUTPUT_NAMES
from tests.engine.helpers import fashion

TF_ONLY_SCRIPT = """
import sys
import numpy as np
import tensorflow as tf

version_dir, images_path, out_path = sys.argv[1:]
images = np.load(images_path)
pixels = np.round(images * 255).astype(np.uint8)
model = tf.saved_model.load(version_dir)
floats = model.signatures["serving_default"](images=tf.constant(images))
encoded = tf.constant([tf.io.encode_png(p).numpy() for p in pixels])
decoded = model.signatures["predict_images_bytes"](image_bytes=encoded)
plain = lambda t: t.numpy().astype("S") if t.dtype == tf.string else t.numpy()
ours = sorted(m for m in sys.modules if m.split(".")[0] in ("again_tf", "serving", "training", "tests"))
np.savez(out_path, ours=np.array(ours, dtype=str),
         **{"images_" + k: plain(v) for k, v in floats.items()},
         **{"bytes_" + k: plain(v) for k, v in decoded.items()})
"""


def test_tensorflow_alone_predicts_what_the_keras_model_predicts(exported, tmp_path):
    images = fashion(n_train=1, n_test=256)[2]
    np.save(tmp_path / "images.npy", images)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    args = [str(exported.version_dir), str(tmp_path / "images.npy"), str(tmp_path / "out.npz")]
    subprocess.run([sys.executable, "-c", TF_ONLY_SCRIPT, *args], check=True, cwd=tmp_path, env=env,
                   timeout=120)
    out = np.load(tmp_path / "out.npz")
    assert out["ours"].size == 0, f"the TF-only process imported {out['ours']}"
    logits = exported.model(images, training=False).numpy()
    classes = logits.argmax(axis=1)
    for path in ("images", "bytes"):
        assert out[f"{path}_logits"].shape == (256, 10)
        assert np.max(np.abs(out[f"{path}_logits"] - logits)) <= 1e-5, path
        np.testing.assert_array_equal(out[f"{path}_classes"], classes)
        names = [n.decode() for n in out[f"{path}_class_names"]]
        assert names == [FASHION_CLASSES[c] for c in classes]
        np.testing.assert_allclose(out[f"{path}_probabilities"].sum(axis=1), 1.0, atol=1e-5)
        np.testing.assert_allclose(out[f"{path}_probabilities"], tf.nn.softmax(logits).numpy(), atol=1e-6)


def test_saved_model_cli_lists_the_named_inputs_and_outputs(exported):
    cli = Path(sys.executable).parent / "saved_model_cli"
    shown = subprocess.run([str(cli), "show", "--all", "--dir", str(exported.version_dir)], check=True,
                           capture_output=True, text=True, timeout=60).stdout
    for signature, key, dtype, shape in (("serving_default", "images", "DT_FLOAT", "(-1, 28, 28, 1)"),
                                         ("predict_images_bytes", "image_bytes", "DT_STRING", "(-1)")):
        section = shown.split(f"signature_def['{signature}']:")[1].split("signature_def[")[0]
        assert f"inputs['{key}'] tensor_info:\n        dtype: {dtype}\n        shape: {shape}" in section
        for name in OUTPUT_NAMES:
            assert f"outputs['{name}'] tensor_info" in section
        assert "Method name is: tensorflow/serving/predict" in section


def _graph_ops(version_dir: Path) -> set[str]:
    saved = saved_model_pb2.SavedModel.FromString((version_dir / "saved_model.pb").read_bytes())
    graph = saved.meta_graphs[0].graph_def
    ops = {node.op for node in graph.node}
    for function in graph.library.function:
        ops |= {node.op for node in function.node_def}
    return ops


def test_the_graph_is_the_deployed_model_without_python_or_training_ops(exported):
    ops = _graph_ops(exported.version_dir)
    assert "Conv2D" in ops and "DecodeImage" in ops
    assert not ops & {"PyFunc", "PyFuncStateless", "EagerPyFunc"}
    # training-mode ASE shuffles labels; HFF draws Dirichlet weights: neither is in the graph
    assert not {op for op in ops if "Random" in op or "Shuffle" in op}
    loaded = tf.saved_model.load(str(exported.version_dir))
    assert set(loaded.signatures) == {"serving_default", "predict_images_bytes"}
    for fn in loaded.signatures.values():
        assert set(fn.structured_outputs) == set(OUTPUT_NAMES)


def test_each_variable_is_stored_once(exported):
    reader = tf.train.load_checkpoint(str(exported.version_dir / "variables" / "variables"))
    shapes = reader.get_variable_to_shape_map()
    shapes.pop("_CHECKPOINTABLE_OBJECT_GRAPH")
    weights = exported.model.weights
    assert len(shapes) == len(weights)
    assert sum(int(np.prod(s)) for s in shapes.values()) == sum(int(np.prod(w.shape)) for w in weights)


def test_versions_count_up_and_models_config_lists_each_model(exported, tmp_path):
    first = export_model(exported.run / "checkpoints" / "last.keras", tmp_path, version=3)
    second = export_model(exported.run, tmp_path)
    other = export_model(exported.run, tmp_path, model_name="other", keep_versions=2)
    assert (first.version, second.version, other.version) == (3, 4, 1)
    assert sorted(p.name for p in (tmp_path / "again").iterdir()) == ["3", "4"]  # no staging left
    config = model_server_config_pb2.ModelServerConfig()
    text_format.Parse((tmp_path / "models.config").read_text(), config)
    models = {m.name: m for m in config.model_config_list.config}
    assert models["again"].base_path == "/models/again" and models["other"].base_path == "/models/other"
    assert models["again"].model_version_policy.latest.num_versions == 1
    assert models["other"].model_version_policy.latest.num_versions == 2
    assert next_version(tmp_path / "again") == 5 and next_version(tmp_path / "missing") == 1


def test_the_cli_exports_and_prints_where(exported, tmp_path, capsys):
    assert main([str(exported.run), "--base-dir", str(tmp_path), "--model-name", "cli",
                 "--max-batch-size", "32", "--checkpoint", "last"]) == 0
    assert f"Exported cli version 1 (last) to {tmp_path / 'cli' / '1'}" in capsys.readouterr().out
    assert "max_batch_size {\n  value: 32\n}" in (tmp_path / "batching_parameters.txt").read_text()


def test_the_default_checkpoint_is_never_chosen_on_test_images(exported, tmp_path, capsys):
    """best_robust.keras of a held-out run; last.keras of a run whose validation saw test images
    (the committed quickstart run validated on the first 1000 test images)."""
    assert deployable_checkpoint(exported.run) == "best_robust"
    old_run = Path(__file__).parents[2] / "docs" / "results" / "quickstart" / "run"
    assert deployable_checkpoint(old_run) == "last"
    assert main([str(old_run), "--base-dir", str(tmp_path), "--model-name", "old"]) == 0
    assert f"Exported old version 1 (last) to {tmp_path / 'old' / '1'}" in capsys.readouterr().out


@pytest.mark.parametrize("args,message", [
    (["{run}", "--version", "0"], "version: got 0; use an integer >= 1"),
    (["{run}", "--model-name", "a/b"], "model name: got 'a/b'"),
    (["{run}", "--dataset", "cifar10"], "the model takes [28, 28, 1] images but cifar10 has [32, 32, 3]"),
    (["{run}", "--dataset", "imagenet"], "dataset: got 'imagenet'; allowed: cifar10"),
    (["{tmp}/nowhere"], "source: nothing at "),
    (["{tmp}/bare.keras"], "pass --dataset (one of: cifar10"),
    (["{tmp}"], "no checkpoints/best_robust.keras (found: none)"),
    (["{run}", "--max-batch-size", "0"], "batching max_batch_size: got 0; use an integer >= 1"),
])
def test_bad_input_is_one_clear_line(exported, tmp_path, capsys, args, message):
    shutil.copy(exported.run / "checkpoints" / "last.keras", tmp_path / "bare.keras")
    args = [a.format(run=exported.run, tmp=tmp_path) for a in args]
    assert main(args + ["--base-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert not list((tmp_path / "out").glob("*/*"))


def test_an_existing_version_is_never_overwritten(exported, capsys):
    before = (exported.version_dir / "saved_model.pb").stat().st_mtime_ns
    assert main([str(exported.run), "--base-dir", str(exported.base), "--version", "1"]) == 2
    assert "version 1 already exists" in capsys.readouterr().err
    assert (exported.version_dir / "saved_model.pb").stat().st_mtime_ns == before
