"""Stats: every on-disk format, explicit feature and dataset, loud failures, no pickle."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import save_file

from pytest_so101.frames import legacy_degrees_to_degrees
from pytest_so101.stats import load_stats
from tests.helpers import STATS, raises_config_error

SEED000_LEGACY = np.array([1.596, 119.944, 109.770, 56.706, -27.423, 12.003])
SEED000_STD = np.array([26.392, 52.411, 49.854, 36.998, 59.360, 19.040])
MEAN_DEGREES = legacy_degrees_to_degrees(SEED000_LEGACY)


@pytest.mark.parametrize("where", ["dataset", "dataset/meta/stats.json", "plain_mean_std.json",
                                   "policy_processor",
                                   "policy_processor/policy_preprocessor.json"])
def test_every_degrees_format_gives_the_same_numbers(where):
    stats = load_stats(STATS / where)
    np.testing.assert_allclose(stats.mean, MEAN_DEGREES, rtol=1e-6)
    np.testing.assert_allclose(stats.std, SEED000_STD, rtol=1e-6)
    assert stats.runtime_key_present and stats.mode == "MEAN_STD"


@pytest.mark.parametrize("feature", ["observation.state", "action"])
def test_processor_and_legacy_features(feature):
    proc = load_stats(STATS / "policy_processor", feature=feature)
    assert proc.feature == feature and proc.key == f"{feature}"
    assert proc.eps == 1e-8
    legacy = load_stats(STATS / "legacy_model", feature=feature)
    np.testing.assert_allclose(legacy.mean, SEED000_LEGACY, rtol=1e-6)
    assert legacy.runtime_key_present


def test_postprocessor_alone_provides_action(tmp_path):
    for name in ("policy_postprocessor.json",
                 "policy_postprocessor_step_0_unnormalizer_processor.safetensors"):
        (tmp_path / name).write_bytes((STATS / "policy_processor" / name).read_bytes())
    assert load_stats(tmp_path, feature="action").key == "action"
    with raises_config_error(tmp_path, "observation.state", "found: action"):
        load_stats(tmp_path, feature="observation.state")


def test_multi_dataset_needs_an_explicit_choice():
    folder = STATS / "multi_dataset_model"
    with raises_config_error("several datasets", "so100", "so100-blue", "so100-red",
                             "--so101-stats-dataset"):
        load_stats(folder)
    stats = load_stats(folder, dataset="so100")
    np.testing.assert_allclose(stats.mean, SEED000_LEGACY, rtol=1e-6)
    assert stats.dataset == "so100"
    assert not stats.runtime_key_present
    assert stats.runtime_key == "normalize_inputs.buffer_observation_state"
    blue = load_stats(folder, dataset="so100-blue", feature="action")
    assert blue.key == "normalize_targets.so100-blue_buffer_action"
    with raises_config_error("'so100-green'", "so100-blue"):
        load_stats(folder, dataset="so100-green")


def test_smolvla_style_dotted_dataset_keys(tmp_path):
    path = tmp_path / "model.safetensors"
    save_file({"so100.buffer.action.mean": SEED000_LEGACY.astype(np.float32),
               "so100.buffer.action.std": SEED000_STD.astype(np.float32),
               "so100-red.buffer.action.mean": SEED000_LEGACY.astype(np.float32),
               "so100-red.buffer.action.std": SEED000_STD.astype(np.float32)}, str(path))
    stats = load_stats(path, feature="action", dataset="so100")
    assert stats.dataset == "so100" and not stats.runtime_key_present


def test_disagreeing_action_buffers_are_an_error(tmp_path):
    tensors = {"normalize_targets.buffer_action.mean": np.zeros(6, np.float32),
               "normalize_targets.buffer_action.std": np.ones(6, np.float32),
               "unnormalize_outputs.buffer_action.mean": np.ones(6, np.float32),
               "unnormalize_outputs.buffer_action.std": np.ones(6, np.float32)}
    save_file(tensors, str(tmp_path / "model.safetensors"))
    with raises_config_error("disagree", "normalize_targets.buffer_action"):
        load_stats(tmp_path / "model.safetensors", feature="action")


def test_missing_feature_lists_what_exists(tmp_path):
    path = tmp_path / "stats.json"
    path.write_text(json.dumps({"observation.images.top": {"mean": [0.5]}}))
    with raises_config_error(path, "no stats for feature 'observation.state'",
                             "observation.images.top"):
        load_stats(path)


@pytest.mark.parametrize(
    ("content", "parts"),
    [
        ({"mean": [1, 2, 3, 4, 5, 6, 7], "std": [1] * 7}, ["mean", "(7,)", "(6,)"]),
        ({"mean": [1, 2, 3, 4, 5, "x"], "std": [1] * 6}, ["stats must be numbers"]),
        ({"mean": [1, 2, None, 4, 5, 6], "std": [1] * 6}, ["elbow_flex", "nan", "finite"]),
        ({"mean": [1, 2, 3, 4, 5, 6]}, ["'std' missing"]),
        ({"mean": [[1, 2, 3, 4, 5, 6]], "std": [1] * 6}, ["(1, 6)"]),
    ],
)
def test_bad_plain_json(tmp_path, content, parts):
    path = tmp_path / "stats.json"
    path.write_text(json.dumps(content).replace('"nan"', "NaN"))
    with raises_config_error(path, *parts):
        load_stats(path)


def test_nan_in_safetensors_names_the_joint(tmp_path):
    mean = SEED000_LEGACY.copy()
    mean[3] = np.nan
    save_file({"observation.state.mean": mean, "observation.state.std": SEED000_STD},
              str(tmp_path / "s.safetensors"))
    with raises_config_error(tmp_path / "s.safetensors", "wrist_flex", "nan"):
        load_stats(tmp_path / "s.safetensors")


@pytest.mark.parametrize(
    ("name", "data", "parts"),
    [
        ("model.safetensors", b"\x00\x01 not a safetensors file", ["cannot read safetensors"]),
        ("stats.json", b"{not json", ["not valid JSON"]),
        ("policy.pt", b"\x80\x04\x95 pickle", ["unknown stats format"]),
        ("pytorch_model.bin", b"\x80\x04\x95 pickle", ["unknown stats format"]),
    ],
)
def test_unreadable_files_are_never_unpickled(tmp_path, name, data, parts):
    (tmp_path / name).write_bytes(data)
    with raises_config_error(tmp_path / name, *parts):
        load_stats(tmp_path / name)


def test_processor_problems(tmp_path):
    config = {"steps": [{"registry_name": "normalizer_processor", "config": {},
                         "state_file": "gone.safetensors"}]}
    (tmp_path / "policy_preprocessor.json").write_text(json.dumps(config))
    with raises_config_error("gone.safetensors", "missing"):
        load_stats(tmp_path)
    save_file({"observation.state.mean": SEED000_LEGACY, "observation.state.std": SEED000_STD},
              str(tmp_path / "gone.safetensors"))
    config["steps"][0]["config"] = {
        "features": {"observation.state": {"type": "STATE", "shape": [6]}},
        "norm_map": {"STATE": "IDENTITY"}}
    (tmp_path / "policy_preprocessor.json").write_text(json.dumps(config))
    with raises_config_error("IDENTITY", "nothing to check"):
        load_stats(tmp_path)
    (tmp_path / "policy_preprocessor.json").write_text('{"steps": 3}')
    with raises_config_error("steps", "LeRobot processor config"):
        load_stats(tmp_path)


def test_min_max_mode(tmp_path):
    save_file({"observation.state.min": np.full(6, -10.0), "observation.state.max":
               np.full(6, 30.0)}, str(tmp_path / "s.safetensors"))
    stats = load_stats(tmp_path / "s.safetensors", mode="MIN_MAX")
    np.testing.assert_allclose(stats.normalize(np.full(6, 10.0)), 0.0)
    np.testing.assert_allclose(stats.unnormalize(stats.normalize(np.arange(6.0))), np.arange(6.0))
    with raises_config_error("'mean' missing"):
        load_stats(tmp_path / "s.safetensors")
    with raises_config_error("mode = 'Z'"):
        load_stats(tmp_path / "s.safetensors", mode="z")


def test_normalize_uses_eps_like_lerobot():
    stats = load_stats(STATS / "plain_mean_std.json")
    x = np.arange(6.0)
    np.testing.assert_allclose(stats.normalize(x), (x - stats.mean) / (stats.std + 1e-8))


def test_bad_feature_and_folder(tmp_path):
    with raises_config_error("feature must be one of", "'observation.images'"):
        load_stats(STATS / "dataset", feature="observation.images")
    with raises_config_error(tmp_path, "holds no policy_preprocessor.json"):
        load_stats(tmp_path)
    with raises_config_error("a plain mean/std file has no datasets"):
        load_stats(STATS / "plain_mean_std.json", dataset="so100")
