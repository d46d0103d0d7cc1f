import csv
import json
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

from training.evaluate import main as evaluate


@pytest.fixture(scope="module")
def run_dir(tiny_run, tmp_path_factory):
    """A copy of the shared run (tests/conftest.py): these tests write eval/ into it."""
    return shutil.copytree(tiny_run.dir, tmp_path_factory.mktemp("runs") / "run")


def test_the_cli_writes_the_table_and_the_per_example_record(run_dir, capsys):
    attacks = "clean,fgsm,pgd2,pgd4,cw3,transfer2"
    args = [str(run_dir), "--attacks", attacks, "--n", "48", "--batch-size", "32"]
    assert evaluate(args) == 0
    out = capsys.readouterr().out
    assert "| Method | Clean | FGSM | PGD-2 | PGD-4 | C&W | Past masks | Worst case |" in out
    assert "| AGAIN-PGD-AT |" in out
    assert "eps = 0 equals clean accuracy" in out
    assert "transfer attacks agree with the worst of fgsm, pgd2, pgd4, cw3" in out
    folder = run_dir / "eval" / "last"
    results = json.loads((folder / "results.json").read_text())
    assert results["examples"] == 48 and results["settings"]["eps"] == 0.1
    rows = list(csv.DictReader((folder / "per_example.csv").open()))
    assert len(rows) == 48
    assert np.mean([int(r["pgd4"]) for r in rows]) == pytest.approx(results["accuracy"]["pgd4"])
    parts = ["transfer2:head1", "transfer2:head2", "transfer2:soft_T1", "transfer2:soft_T0.1"]
    assert [int(r["transfer2"]) for r in rows] == [min(int(r[k]) for k in parts) for r in rows]
    attacks = ["fgsm", "pgd2", "pgd4", "cw3", "transfer2"]
    assert [int(r["worst"]) for r in rows] == [min(int(r[k]) for k in attacks) for r in rows]
    assert list((folder / "tensorboard").glob("events.out.tfevents.*"))
    assert evaluate(args) == 2 and "--resume" in capsys.readouterr().err
    assert evaluate(args + ["--resume"]) == 0  # every batch is done: nothing recomputed


def test_a_checkpoint_chosen_on_test_images_is_marked(run_dir, tmp_path, capsys):
    args = ["--checkpoint", "best_robust", "--attacks", "clean,pgd2", "--n", "16", "--batch-size", "16"]
    assert evaluate([str(run_dir), "--output", str(tmp_path / "held")] + args) == 0
    out = capsys.readouterr().out
    assert "PASS  model selection: best_robust chosen on 64 held-out training images" in out
    on_test = shutil.copytree(run_dir, tmp_path / "on_test", ignore=shutil.ignore_patterns("eval"))
    config = json.loads((on_test / "config.json").read_text())
    config["data"]["val_source"] = "test"
    (on_test / "config.json").write_text(json.dumps(config))
    assert evaluate([str(on_test), "--output", str(tmp_path / "test")] + args) == 0
    assert "WARN  model selection: best_robust chosen on the first 64 test images" in capsys.readouterr().out
    checks = json.loads((tmp_path / "test" / "results.json").read_text())["checks"]
    assert {"name": "model selection", "passed": False}.items() <= checks[-1].items()


def test_a_record_moved_with_its_run_resumes_and_a_retrained_model_is_refused(run_dir, tmp_path, capsys):
    args = ["--attacks", "clean,pgd2", "--n", "32", "--batch-size", "32"]
    assert evaluate([str(run_dir), "--output", str(run_dir / "eval" / "moved")] + args) == 0
    moved = shutil.copytree(run_dir, tmp_path / "elsewhere")
    record = moved / "eval" / "moved" / "record.jsonl"
    before = record.read_text()
    assert evaluate([str(moved), "--output", str(record.parent), "--resume"] + args) == 0
    assert record.read_text() == before  # resumed from the moved record: nothing recomputed
    checkpoint = moved / "checkpoints" / "last.keras"
    model = keras.models.load_model(checkpoint, compile=False)
    model.trainable_variables[0].assign_add(tf.ones_like(model.trainable_variables[0]))
    model.save(checkpoint)
    capsys.readouterr()
    assert evaluate([str(moved), "--output", str(record.parent), "--resume"] + args) == 2
    assert "written for another model" in capsys.readouterr().err and record.read_text() == before


def _saved_model(path, shape):
    module = tf.Module()
    module.w = tf.Variable(tf.ones((int(np.prod(shape)), 10)))

    @tf.function(input_signature=[tf.TensorSpec([None, *shape], tf.float32)])
    def serve(images):
        return {"logits": tf.matmul(tf.reshape(images, [tf.shape(images)[0], -1]), module.w)}

    tf.saved_model.save(module, str(path), signatures={"serving_default": serve})
    return path


@pytest.mark.parametrize("args,message", [
    (["--attacks", "clean,deepfool"], "unknown attack 'deepfool'; allowed: clean, fgsm"),
    (["--eps", "0"], "eps: must be in (0, 1]"),
    (["--n", "0"], "--n: must be >= 1"),
])
def test_bad_arguments_are_one_clear_line(run_dir, capsys, args, message):
    assert evaluate([str(run_dir), "--output", str(run_dir / "bad")] + args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_bad_models_are_one_clear_line(tmp_path, capsys):
    assert evaluate([str(tmp_path / "nothing")]) == 2
    assert "model: nothing at" in capsys.readouterr().err
    no_signature = tmp_path / "plain"
    tf.saved_model.save(tf.Module(), str(no_signature))
    assert evaluate([str(no_signature), "--dataset", "fashion_mnist"]) == 2
    assert "no signature 'serving_default'" in capsys.readouterr().err
    wrong = _saved_model(tmp_path / "cifar_shaped", (32, 32, 3))
    assert evaluate([str(wrong), "--dataset", "fashion_mnist", "--n", "8"]) == 2
    assert "takes images of shape (32, 32, 3) but the data has (28, 28, 1)" in capsys.readouterr().err


def test_a_saved_model_is_evaluated_through_its_signature(tmp_path, capsys):
    model = _saved_model(tmp_path / "ok", (28, 28, 1))
    assert evaluate([str(model), "--dataset", "fashion_mnist", "--n", "16", "--attacks", "clean,pgd2"]) == 0
    assert "| ok | " in capsys.readouterr().out
    assert (tmp_path / "eval-ok" / "table.md").is_file()


def test_an_output_inside_the_saved_model_is_refused(tmp_path, capsys):
    model = _saved_model(tmp_path / "ok", (28, 28, 1))
    files = sorted(p for p in model.rglob("*"))
    inside = ["--output", str(model / "eval")]
    assert evaluate([str(model), "--dataset", "fashion_mnist", "--n", "8"] + inside) == 2
    err = capsys.readouterr().err
    assert "inside the SavedModel" in err and str(tmp_path / "eval-ok") in err
    assert sorted(p for p in model.rglob("*")) == files
