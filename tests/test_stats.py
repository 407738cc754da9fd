"""Stats: every on-disk format, explicit feature and dataset, loud failures, no pickle."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import save_file

from pytest_so101.core.frames import legacy_degrees_to_degrees
from pytest_so101.core.stats import load_stats
from tests.helpers import STATS, raises_config_error

SMOLVLA_SO100_MEAN_LEGACY = np.array([1.596, 119.944, 109.770, 56.706, -27.423, 12.003])
SMOLVLA_SO100_STD = np.array([26.392, 52.411, 49.854, 36.998, 59.360, 19.040])
MEAN_DEGREES = legacy_degrees_to_degrees(SMOLVLA_SO100_MEAN_LEGACY)


@pytest.mark.parametrize("where", ["dataset", "dataset/meta/stats.json", "plain_mean_std.json",
                                   "policy_processor",
                                   "policy_processor/policy_preprocessor.json"])
def test_every_degrees_format_gives_the_same_numbers(where):
    stats = load_stats(STATS / where)
    np.testing.assert_allclose(stats.mean, MEAN_DEGREES, rtol=1e-6)
    np.testing.assert_allclose(stats.std, SMOLVLA_SO100_STD, rtol=1e-6)
    assert stats.runtime_key_present and stats.mode == "MEAN_STD"


@pytest.mark.parametrize("feature", ["observation.state", "action"])
def test_processor_and_legacy_features(feature):
    proc = load_stats(STATS / "policy_processor", feature=feature)
    assert proc.feature == feature and proc.key == f"{feature}"
    assert proc.eps == 1e-8
    legacy = load_stats(STATS / "legacy_model", feature=feature)
    np.testing.assert_allclose(legacy.mean, SMOLVLA_SO100_MEAN_LEGACY, rtol=1e-6)
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
    np.testing.assert_allclose(stats.mean, SMOLVLA_SO100_MEAN_LEGACY, rtol=1e-6)
    assert stats.dataset == "so100"
    assert not stats.runtime_key_present
    assert stats.runtime_key == "normalize_inputs.buffer_observation_state"
    blue = load_stats(folder, dataset="so100-blue", feature="action")
    assert blue.key == "normalize_targets.so100-blue_buffer_action"
    with raises_config_error("'so100-green'", "so100-blue"):
        load_stats(folder, dataset="so100-green")


def test_smolvla_style_dotted_dataset_keys(tmp_path):
    path = tmp_path / "model.safetensors"
    save_file({"so100.buffer.action.mean": SMOLVLA_SO100_MEAN_LEGACY.astype(np.float32),
               "so100.buffer.action.std": SMOLVLA_SO100_STD.astype(np.float32),
               "so100-red.buffer.action.mean": SMOLVLA_SO100_MEAN_LEGACY.astype(np.float32),
               "so100-red.buffer.action.std": SMOLVLA_SO100_STD.astype(np.float32)}, str(path))
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
        ({"mean": [1, 2, 3, 4, 5, "x"], "std": [1] * 6},
         ["gripper", "mean = 'x'", "must be a number, not a string"]),
        ({"mean": [1, 2, None, 4, 5, 6], "std": [1] * 6},
         ["elbow_flex", "mean = None", "must be a number, not null"]),
        ({"mean": [1, 2, float("nan"), 4, 5, 6], "std": [1] * 6},
         ["elbow_flex", "mean = nan", "finite"]),
        ({"mean": [1, 2, 3, 4, 5, 6]}, ["'std' missing"]),
        ({"mean": [[1, 2, 3, 4, 5, 6]], "std": [1] * 6}, ["(1, 6)"]),
    ],
)
def test_bad_plain_json(tmp_path, content, parts):
    path = tmp_path / "stats.json"
    path.write_text(json.dumps(content))
    with raises_config_error(path, *parts):
        load_stats(path)


def test_nan_in_safetensors_names_the_joint(tmp_path):
    mean = SMOLVLA_SO100_MEAN_LEGACY.copy()
    mean[3] = np.nan
    save_file({"observation.state.mean": mean, "observation.state.std": SMOLVLA_SO100_STD},
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
    with raises_config_error("gone.safetensors", "state file named by "
                             "policy_preprocessor.json not found"):
        load_stats(tmp_path)
    save_file({"observation.state.mean": SMOLVLA_SO100_MEAN_LEGACY,
               "observation.state.std": SMOLVLA_SO100_STD},
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


# -- issue 11: types checked everywhere, no traceback --------------------------------------

PLAIN = json.loads((STATS / "plain_mean_std.json").read_text())


@pytest.mark.parametrize(
    ("change", "parts"),
    [
        ({"mean": [str(v) for v in PLAIN["mean"]]},
         ["shoulder_pan", "mean = '1.596'", "not a string", "without quotes"]),
        ({"std": [True, 1, 1, 1, 1, 1]}, ["shoulder_pan", "std = True", "not a boolean"]),
        ({"mean": [0, 2**64, 0, 0, 0, 0]},
         ["shoulder_lift", "mean = 18446744073709551616", "out of range"]),
        ({"mean": [0, 0, 0, 0, 0, 10**300]}, ["gripper", "digits", "out of range"]),
        ({"eps": "abc"}, ["eps = 'abc'", "must be a number"]),
        ({"eps": -1}, ["eps = -1.0", ">= 0"]),
        ({"count": ["12"]}, ["count = '12'", "must be a number"]),
        ({"count": 1.5}, ["count = 1.5", "whole number"]),
    ],
)
def test_plain_json_values_are_typed(tmp_path, change, parts):
    path = tmp_path / "stats.json"
    path.write_text(json.dumps({**PLAIN, **change}))
    with raises_config_error(path, *parts):
        load_stats(path)


def test_numbers_as_strings_in_a_dataset_stats_file(tmp_path):
    data = json.loads((STATS / "dataset/meta/stats.json").read_text())
    data["observation.state"]["std"][4] = "59.36"
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta/stats.json").write_text(json.dumps(data))
    with raises_config_error(tmp_path / "meta/stats.json", "wrist_roll",
                             "observation.state.std = '59.36'", "not a string"):
        load_stats(tmp_path)


def test_a_5000_digit_integer_names_joint_and_shortened_value(tmp_path):
    path = tmp_path / "stats.json"
    path.write_text(json.dumps(PLAIN).replace("56.706", "7" * 5000))
    with raises_config_error(path, "wrist_flex", "mean = 777777777777...7777 (5000 digits)",
                             "out of range") as info:
        load_stats(path)
    assert len(str(info.value)) < 300


def _processor(tmp_path, mutate) -> None:
    folder = STATS / "policy_processor"
    for state in folder.glob("*.safetensors"):
        (tmp_path / state.name).write_bytes(state.read_bytes())
    config = json.loads((folder / "policy_preprocessor.json").read_text())
    mutate(config, config["steps"][3])
    (tmp_path / "policy_preprocessor.json").write_text(json.dumps(config))


@pytest.mark.parametrize(
    ("mutate", "parts"),
    [
        (lambda c, s: s["config"].update(eps="abc"), ["config.eps = 'abc'", "number"]),
        (lambda c, s: s["config"].update(eps=True), ["config.eps = True", "boolean"]),
        (lambda c, s: c.update(steps={"a": 1}), ["steps", "LeRobot processor config"]),
        (lambda c, s: c["steps"].insert(0, "to_batch"), ["steps[0] = 'to_batch'", "table"]),
        (lambda c, s: s.update(config=["eps", 1e-8]), ["steps[3].config", "not a list"]),
        (lambda c, s: s.update(registry_name=3), ["steps[3].registry_name = 3", "string"]),
        (lambda c, s: s["config"].update(features="STATE"),
         ["config.features = 'STATE'", "must be a table, not a string"]),
        (lambda c, s: s["config"]["features"].update({"observation.state": ["STATE"]}),
         ["config.features.observation.state", "must be a table, not a list"]),
        (lambda c, s: s["config"]["features"]["observation.state"].update(type=1),
         ["config.features.observation.state.type = 1", "string"]),
        (lambda c, s: s["config"].update(norm_map=[["STATE", "MEAN_STD"]]),
         ["config.norm_map", "must be a table, not a list"]),
        (lambda c, s: s["config"]["norm_map"].update(STATE=2),
         ["config.norm_map.STATE = 2", "must be a string, not an integer"]),
        (lambda c, s: s["config"]["norm_map"].update(STATE="QUANTILES"),
         ["config.norm_map.STATE = 'QUANTILES'", "MEAN_STD, MIN_MAX"]),
        (lambda c, s: s.update(state_file="../../etc/passwd"),
         ["steps[3].state_file = '../../etc/passwd'", "inside the policy folder"]),
        (lambda c, s: s.update(state_file="/etc/passwd"),
         ["steps[3].state_file = '/etc/passwd'", "inside the policy folder"]),
        (lambda c, s: s.update(state_file="sub/../../x.safetensors"),
         ["state_file", "inside the policy folder"]),
        (lambda c, s: s.update(state_file="."), ["is a folder, not a regular file"]),
    ],
)
def test_processor_config_types(tmp_path, mutate, parts):
    _processor(tmp_path, mutate)
    with raises_config_error(tmp_path, *parts):
        load_stats(tmp_path)


def test_a_state_file_in_a_subfolder_is_fine(tmp_path):
    def into_subfolder(config, step):
        step["state_file"] = f"sub/{step['state_file']}"

    _processor(tmp_path, into_subfolder)
    (tmp_path / "sub").mkdir()
    for state in tmp_path.glob("*.safetensors"):
        state.rename(tmp_path / "sub" / state.name)
    assert load_stats(tmp_path).source.endswith("sub/policy_preprocessor_step_3_normalizer_"
                                                "processor.safetensors")


@pytest.mark.parametrize(
    ("tensors", "parts"),
    [
        ({"observation.state.mean": np.arange(7.0)}, ["observation.state.mean = (7,)"]),
        ({"observation.state.mean": np.ones((2, 6))}, ["observation.state.mean = (2, 6)"]),
        ({"observation.state.mean": np.ones(())}, ["observation.state.mean = ()"]),
        ({"observation.state.mean": np.full(6, 2**63 - 1, np.int64)},
         ["observation.state.mean = 'int64'", "floating point"]),
        ({"observation.state.mean": np.ones(6, bool)}, ["'bool'", "floating point"]),
        ({"observation.state.mean": np.ones(100_000)}, ["observation.state.mean = (100000,)"]),
        ({"observation.state.count": np.arange(6, dtype=np.uint8)},
         ["count = [0.0, 1.0", "one whole number"]),
        ({"observation.state.count": np.array([-1], np.int64)}, ["count = -1.0", ">= 0"]),
        ({"observation.state.count": np.zeros((2, 6))}, ["count must be one number"]),
    ],
)
def test_bad_tensors_give_one_line(tmp_path, tensors, parts):
    tensors = {"observation.state.mean": SMOLVLA_SO100_MEAN_LEGACY,
               "observation.state.std": SMOLVLA_SO100_STD, **tensors}
    save_file(tensors, str(tmp_path / "s.safetensors"))
    with raises_config_error(tmp_path / "s.safetensors", *parts):
        load_stats(tmp_path / "s.safetensors")


def _with_header(tmp_path, header: dict, body: bytes = b"\0" * 48):
    text = json.dumps(header).encode()
    path = tmp_path / "model.safetensors"
    path.write_bytes(len(text).to_bytes(8, "little") + text + body)
    return path


@pytest.mark.parametrize(
    ("entry", "parts"),
    [
        ({"dtype": "STR", "shape": [6], "data_offsets": [0, 24]},
         ["observation.state.mean dtype = 'STR'", "unsupported dtype"]),
        ({"dtype": ["F32"], "shape": [6], "data_offsets": [0, 24]}, ["unsupported dtype"]),
        ({"dtype": "F32", "shape": "6", "data_offsets": [0, 24]},
         ["observation.state.mean shape = '6'", "must be a list"]),
        ({"dtype": "F32", "shape": [6], "data_offsets": [0, 10**30]},
         ["data_offsets = 1000000000000000000000000000000", "out of range"]),
        ({"dtype": "F32", "shape": [7], "data_offsets": [0, 24]}, ["disagree"]),
        ({"dtype": "F32", "shape": [6], "data_offsets": [40, 64]}, ["disagree"]),
        ({"dtype": "F32", "shape": [0, 2**62, 2**62], "data_offsets": [0, 0]},
         ["shape too large"]),
        ([1, 2], ["observation.state.mean = [1, 2]", "must be a table"]),
    ],
)
def test_bad_safetensors_headers_give_one_line(tmp_path, entry, parts):
    path = _with_header(tmp_path, {"observation.state.mean": entry, "observation.state.std":
                                   {"dtype": "F32", "shape": [6], "data_offsets": [24, 48]}})
    with raises_config_error(path, *parts):
        load_stats(path)


@pytest.mark.parametrize(
    ("data", "parts"),
    [
        (b"\x01\x00", ["cannot read safetensors", "2 bytes, fewer than the 8"]),
        ((10**6).to_bytes(8, "little") + b"{}",
         ["cannot read safetensors", "header size 1000000", "10-byte file"]),
        ((17 << 20).to_bytes(8, "little") + b" " * 64, ["larger than the 16 MiB limit"]),
        (b"\x04\x00\x00\x00\x00\x00\x00\x00[1] ", ["header is not a JSON object"]),
        (b"\x04\x00\x00\x00\x00\x00\x00\x00\xff\xfe{}",
         ["safetensors header is not valid UTF-8 (byte 0xff at offset 0)"]),
    ],
)
def test_broken_safetensors_files(tmp_path, data, parts):
    (tmp_path / "model.safetensors").write_bytes(data)
    with raises_config_error(tmp_path / "model.safetensors", *parts):
        load_stats(tmp_path / "model.safetensors")


def test_the_reader_matches_the_safetensors_library():
    from safetensors.numpy import load_file

    from pytest_so101.core.files import read_safetensors

    for path in STATS.rglob("*.safetensors"):
        expected = load_file(str(path))
        got = read_safetensors(path, "safetensors file", lambda key: True)
        assert got.keys() == expected.keys()
        for key, values in expected.items():
            assert got[key].dtype == values.dtype
            np.testing.assert_array_equal(got[key], values)


def test_bf16_and_f16_stats_are_read(tmp_path):
    header = {"observation.state.mean": {"dtype": "BF16", "shape": [6], "data_offsets": [0, 12]},
              "observation.state.std": {"dtype": "F16", "shape": [6], "data_offsets": [12, 24]}}
    mean = (np.arange(1, 7, dtype=np.float32).view(np.uint32) >> 16).astype("<u2")
    path = _with_header(tmp_path, header, mean.tobytes() + np.ones(6, "<f2").tobytes())
    stats = load_stats(path)
    np.testing.assert_array_equal(stats.mean, np.arange(1, 7))
    np.testing.assert_array_equal(stats.std, np.ones(6))


def test_safetensors_metadata_that_is_not_text_is_refused(tmp_path):
    """The format maps __metadata__ text to text; a file that breaks it is named, not read."""
    path = tmp_path / "model.safetensors"
    save_file({"normalize_targets.buffer_action.mean": np.zeros(6, np.float32),
               "normalize_targets.buffer_action.std": np.ones(6, np.float32)}, str(path))
    raw = path.read_bytes()
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + size])
    header["__metadata__"] = {"format": "pt", "steps": 3}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(len(text).to_bytes(8, "little") + text + raw[8 + size:])
    with raises_config_error(path, "__metadata__.steps", "must be text", "int"):
        load_stats(path, feature="action")
