"""bench.paper_presets: the pass counts, projections and tables it reports (pure functions on the
real presets' recipes), the profiler's FLOP count on a layer of known cost, and the command."""

import keras
import pytest

from bench.paper_presets import (
    Measured,
    Passes,
    amortised_step,
    flops_of,
    format_duration,
    forward_flops,
    las_update_passes,
    main,
    markdown_table,
    merge_raw,
    parse_presets,
    project,
    rate_notes,
    recipe_of,
    render,
    rows_for,
    training_passes,
    validation_passes,
)


def test_recipes_read_the_presets():
    r18, las, fat = recipe_of("paper-resnet18"), recipe_of("paper-las-at"), recipe_of("paper-fat")
    assert (r18.method, r18.batch, r18.steps_per_epoch, r18.epochs, r18.attack_steps, r18.ase) == \
        ("again_pgd_at", 128, 382, 200, 10, True)  # 49,000 // 128
    assert (las.base, las.las_max_iterations, las.las_interval, las.epochs, las.ase) == \
        ("las_at", 14, 20, 110, False)
    assert (fat.ase, recipe_of("paper-wrn34").awp, recipe_of("paper-resnet18", 8).steps_per_epoch) == \
        (False, True, 6125)


@pytest.mark.parametrize("preset,expected", [
    ("paper-resnet18", Passes(25.0)),  # PGD-10: 10 x 2 + loss 3 + accuracies 2
    ("paper-cas", Passes(25.0)),
    ("paper-fat", Passes(25.0)),  # the early stop does not shorten the loop
    ("paper-wrn34", Passes(28.0)),  # + AWP's proxy loss, 3
    ("paper-fat-trades", Passes(29.0)),  # F(x) for the KL attack 1 + 20 + (adv + clean) 6 + 2
    ("paper-lbgat", Passes(29.0, 3.0)),  # as TRADES, plus the guide's forward + backward
    ("paper-las-at", Passes(33.0 + 76.0 / 20, 1.0 + 3.0 / 20)),  # 14 iterations; the update amortised
])
def test_training_passes(preset, expected):
    assert training_passes(recipe_of(preset)) == pytest.approx(expected)


def test_an_ordinary_las_at_step_has_no_update_share():
    assert training_passes(recipe_of("paper-las-at"), amortise_update=False) == Passes(33.0, 1.0)


def test_las_at_update_passes():
    """The picked attack 28, hardness 1, SGD step 3, PGD-10 x 2 restarts ranked 42, accuracies 2;
    the strategy network's forward + backward."""
    assert las_update_passes(recipe_of("paper-las-at")) == Passes(76.0, 3.0)


@pytest.mark.parametrize("preset,expected", [
    ("paper-resnet18", Passes(44.0)),  # two PGD-10 (through the ASE heads, then the main head)
    ("paper-fat", Passes(23.0)),
    ("paper-fat-trades", Passes(24.0)),  # the loss terms read F(x) too
    ("paper-lbgat", Passes(24.0, 1.0)),
])
def test_validation_passes(preset, expected):
    assert validation_passes(recipe_of(preset)) == expected


def test_flops_and_projection_arithmetic():
    recipe = recipe_of("paper-resnet18")
    step_flops, val_flops = flops_of(recipe, model_flops=1e9, network_flops=0.0)
    assert (step_flops, val_flops) == (25 * 1e9 * 128, 44 * 1e9 * 1000)
    projection = project(recipe, step_seconds=10.0, step_flops=100.0, validation_flops=50.0)
    assert (projection.train_epoch, projection.validation, projection.epoch) == (3820.0, 5.0, 3825.0)
    assert projection.recipe == 200 * 3825.0


def test_las_at_step_is_amortised_over_its_interval():
    las = recipe_of("paper-las-at")
    assert amortised_step(las, 10.0, 40.0) == (19 * 10.0 + 40.0) / 20
    assert amortised_step(las, 10.0, None) == 10.0
    assert amortised_step(recipe_of("paper-resnet18"), 10.0, 40.0) == 10.0


@pytest.mark.parametrize("seconds,text", [(59.94, "59.9 s"), (600, "10.0 min"), (3 * 3600, "3.0 h"),
                                          (5 * 86400, "5.0 days")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_markdown_table():
    assert markdown_table(["a", "b"], [[1, "x"], [2.5, ""]]) == "| a | b |\n|---|---|\n| 1 | x |\n| 2.5 |  |"
    with pytest.raises(ValueError, match="has 1 cells for 2 headers"):
        markdown_table(["a", "b"], [[1]])


def _measured(preset="paper-resnet18", batch=128, steps=(30.0, 32.0, 31.0), update=None, cpu=(50.0,)):
    return Measured(preset=preset, batch=batch, warmup=50.0, steps=list(steps), update_step=update,
                    peak_rss_mb=3072.0, params=11_184_222, model_flops=1.1e9, network_flops=0.0,
                    cpu_steps=list(cpu), cpu_update=None if update is None else 2 * update)


def test_report_rows():
    measured = [_measured(), _measured("paper-las-at", steps=[40.0], update=120.0),
                _measured("paper-wrn34", batch=32, steps=[10.0], cpu=[16.0])]
    tables = rows_for(measured, gpu_tflops=10.0, cores=2)
    r18, las, wrn = tables["measured"]
    assert r18[4:] == ["128", "50.0 s", "31 s (median of 3)", "50 s", "3.00 GB",
                       f"{25 * 1.1e9 * 128 / 50.0 / 1e9:.0f}"]  # GFLOP per CPU-second
    assert las[6:8] == ["40 s (1 step); strategy update 120 s", "50 s; update 240 s"]
    assert wrn[4] == "32 (recipe 128: scaled)"
    # Cores free: 50 CPU-s / 2 cores = 25 s a step, 382 of them 2.7 h; validation 25 s * 44 * 1000 /
    # (25 * 128) = 344 s; 200 epochs = 22.9 days. At the wall time (31 s a step): 28.4 days.
    assert tables["cpu"][0][3:] == ["25 s", "2.7 h", "5.7 min", "2.7 h", "22.9 days", "28.4 days"]
    # LAS-AT amortised: (19 * 50 + 240) / 20 = 59.5 CPU-s, 29.75 s on 2 cores.
    assert tables["cpu"][1][3] == "29.8 s"
    # WRN at batch 32 scaled to 128: 4 x 16 CPU-s / 2 cores = 32 s a step, 382 steps = 3.4 h.
    assert tables["cpu"][2][3:5] == ["32 s", "3.4 h"]
    # GPU: 25 * 1.1e9 * 128 = 3.52 TFLOP at 10 TFLOP/s = 0.35 s; at the recipe's batch for all.
    assert tables["gpu"][0][2:6] == ["25.0", "3.52", "48.4", "0.35 s"]
    assert tables["gpu"][1][2] == "36.8 + 1.15 net"
    assert tables["gpu"][2][3] == f"{28 * 1.1e9 * 128 / 1e12:.2f}"


def test_a_step_off_its_pass_count_is_noted():
    """LAS-AT counted at 33 passes but as fast per CPU-second as 16.5 would be: half the work."""
    measured = [_measured(), _measured("paper-cas"), _measured("paper-las-at", cpu=[33.0])]
    assert rate_notes(measured) == ["paper-las-at: 141 GFLOP per CPU-second against a median of 70: its "
                                    "step did about 50% of the work its pass count says."]
    assert rate_notes(measured[:2]) == []


def test_presets_take_an_optional_batch():
    assert parse_presets("paper-resnet18, paper-wrn34:32", 128) == \
        [("paper-resnet18", 128), ("paper-wrn34", 32)]
    with pytest.raises(SystemExit, match="'paper-wrn34:0' has batch '0'; write name:BATCH"):
        parse_presets("paper-wrn34:0", 128)


def test_report_marks_projections_and_failures():
    meta = {"command": "python -m bench.paper_presets", "date": "2026-12-05", "machine": "2 CPU cores",
            "software": "TF", "load": "load 4", "note": "a grid ran"}
    meta["requested"] = ["paper-resnet18", "paper-wrn34", "paper-fat"]
    text = render([_measured()], {"paper-wrn34": "worker killed"}, meta, ("A100", 15.0))
    assert "## GPU PROJECTIONS (computed from FLOPs, not measured)" in text
    assert "assumed sustained 15 TFLOP/s on an A100" in text
    assert "Load: load 4. a grid ran" in text and "* paper-wrn34: worker killed" in text
    assert "* paper-fat: the measurement was stopped before it" in text


def test_merged_measurements_keep_every_row_and_both_commands():
    first = {"meta": {"command": "a", "date": "d1", "load": "l1", "note": "n", "machine": "m",
                      "requested": ["paper-resnet18", "paper-wrn34"]},
             "measured": [{"preset": "paper-resnet18"}, {"preset": "paper-wrn34", "batch": 32}],
             "failed": {}}
    second = {"meta": {"command": "b", "date": "d2", "load": "l2", "note": "n", "machine": "m2",
                       "requested": ["paper-wrn34", "paper-fat"]},
              "measured": [{"preset": "paper-wrn34", "batch": 128}], "failed": {"paper-fat": "killed"}}
    merged = merge_raw([first, second])
    assert [m["preset"] for m in merged["measured"]] == ["paper-resnet18", "paper-wrn34", "paper-wrn34"]
    assert merged["meta"] == {"command": "a`; `b", "date": "d1; d2", "load": "l1; l2", "note": "n",
                              "machine": "m", "requested": ["paper-resnet18", "paper-wrn34", "paper-fat"]}
    assert merged["failed"] == {"paper-fat": "killed"}


def test_forward_flops_counts_a_convolution_exactly():
    """3x3 conv, 4 -> 6 channels, on 8 x 8: 2 * 3 * 3 * 4 * 6 * 8 * 8 FLOPs (a multiply-add is 2)."""
    layer = keras.layers.Conv2D(6, 3, padding="same", use_bias=False)
    layer.build((None, 8, 8, 4))
    assert forward_flops(layer, (8, 8, 4)) == 2 * 3 * 3 * 4 * 6 * 8 * 8


def test_unknown_preset_is_refused_before_anything_runs():
    with pytest.raises(SystemExit, match="unknown 'paper-rn18'; allowed: .*paper-resnet18"):
        main(["--presets", "paper-rn18"])


@pytest.mark.slow
def test_command_measures_a_preset_in_its_own_process(tmp_path, capsys):
    """The quickstart preset at batch 8: the whole command, the worker a real subprocess."""
    output, raw = tmp_path / "report.md", tmp_path / "raw.json"
    assert main(["--presets", "quickstart", "--batch", "8", "--steps", "2", "--output", str(output),
                 "--raw", str(raw)]) == 0
    text = output.read_text()
    assert "| quickstart | again_pgd_at | small_cnn | 73,966 | 8 (recipe 128: scaled) |" in text
    assert "(median of 2)" in text and text == capsys.readouterr().out.rstrip("\n") + "\n"
    assert main(["--from-raw", str(raw), "--output", str(tmp_path / "again.md")]) == 0
    assert (tmp_path / "again.md").read_text() == text
