"""Dataset exports (envs/export.py, envs/interop/verl.py, ``rlvr export``): row i is the episode
``reset(seed=episode_seed(seed, i))`` with everything its reward needs, for every text env; the rows do not depend on
the worker count; JSONL, parquet and datasets folders read back the same rows; verl's schema and reward entry point."""

from __future__ import annotations

import json
import sys

import pytest

import rlvr_gym  # noqa: F401
from rlvr_gym.envs.export import build_rows, episode_row, format_of, read_rows, write_rows
from rlvr_gym.envs.registration import make_env
from rlvr_gym.envs.seeding import episode_seed

# One id per env class and preset family (every registered text id is made and graded in test_reward_parity.py).
IDS = ["Math-v0", "Math-Hard-v0", "TemporalClue-Easy-v0", "TemporalClue-Feedback-v0"]
FIXED = ["prompt", "env_id", "env_kwargs", "seed", "index", "difficulty"]


@pytest.mark.parametrize("env_id", IDS)
def test_row_i_is_the_episode_with_its_reward_columns(env_id):
    kwargs = {"levels": [1, 2]} if env_id == "Math-v0" else {}
    rows = build_rows(env_id, 2, seed=11, env_kwargs=kwargs, system="Be brief.")
    env = make_env(env_id, **kwargs)
    names = list(env.unwrapped.reward_column_names)
    for i, row in enumerate(rows):
        observation, info = env.reset(seed=episode_seed(11, i))
        assert list(row) == FIXED + names
        assert row["prompt"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": observation}]
        assert (row["env_id"], json.loads(row["env_kwargs"]), row["seed"], row["index"]) == (env_id, kwargs,
                                                                                             episode_seed(11, i), i)
        assert row["difficulty"] == str(info["difficulty"]) and row["difficulty"]
        assert {k: row[k] for k in names} == env.unwrapped.reward_columns(info)
        assert all(isinstance(row[k], str) for k in names)


def test_rows_are_the_same_for_any_worker_count():
    one = build_rows("Math-v0", 9, seed=3, workers=1)
    assert build_rows("Math-v0", 9, seed=3, workers=2, chunk=2) == one
    tc = build_rows("TemporalClue-Easy-v0", 3, seed=3, workers=1)
    assert build_rows("TemporalClue-Easy-v0", 3, seed=3, workers=2, chunk=1) == tc
    assert build_rows("Math-v0", 9, seed=4) != one                    # the seed matters


def test_trainer_rows_are_export_rows():
    pytest.importorskip("datasets")
    from rlvr_gym.agents.grpo.data import build_dataset

    trained = build_dataset(["Math-Easy-v0"], 4, seed=2).to_list()
    exported = build_rows("Math-Easy-v0", 4, seed=2)
    for t, e in zip(trained, exported):
        assert {k: t[k] for k in ("prompt", "env_id", "seed", "difficulty", "answer", "item", "index")} == \
               {k: e[k] for k in ("prompt", "env_id", "seed", "difficulty", "answer", "item", "index")}


@pytest.mark.parametrize("fmt,name", [("jsonl", "rows.jsonl"), ("parquet", "rows.parquet"), ("hf", "rows_ds")])
def test_files_read_back_the_same_rows(tmp_path, fmt, name):
    if fmt != "jsonl":
        pytest.importorskip("pyarrow")
    if fmt == "hf":
        pytest.importorskip("datasets")
    rows = build_rows("Math-Easy-v0", 3, seed=0) + build_rows("Math-Easy-v0", 1, seed=9)
    assert format_of(tmp_path / name) == fmt
    assert write_rows(rows, tmp_path / name) == fmt
    assert read_rows(tmp_path / name) == rows
    if fmt == "hf":
        from datasets import load_from_disk

        assert load_from_disk(str(tmp_path / name)).column_names == FIXED + ["answer", "item"]


def test_missing_packages_name_the_pip_command(tmp_path, monkeypatch):
    rows = build_rows("Math-Easy-v0", 1)
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(ImportError, match="pip install pyarrow"):
        write_rows(rows, tmp_path / "x.parquet")
    monkeypatch.setitem(sys.modules, "datasets", None)
    with pytest.raises(ImportError, match="pip install datasets"):
        write_rows(rows, tmp_path / "x_ds")
    with pytest.raises(ValueError, match="format must be"):
        write_rows(rows, tmp_path / "x", "csv")


def test_non_text_envs_and_bad_options_fail_clearly():
    from rlvr_gym.envs.registration import EnvSpecError

    with pytest.raises(EnvSpecError, match="no option 'nope'"):
        build_rows("Math-v0", 1, env_kwargs={"nope": 1})
    import gymnasium as gym

    with pytest.raises(ValueError, match="not a text environment"):
        episode_row(gym.make("CartPole-v1"), "CartPole-v1", 0, 0)


def test_verl_rows_schema_and_reward(tmp_path):
    pytest.importorskip("pyarrow")
    from rlvr_gym.envs.interop.verl import compute_score, parse_ground_truth, verl_rows, write_verl_parquet

    rows = list(verl_rows("Math-v0", 3, seed=1, split="test", env_kwargs={"levels": [1]}))
    shared = build_rows("Math-v0", 3, seed=1, env_kwargs={"levels": [1]})
    assert write_verl_parquet(rows, tmp_path / "m.parquet") == 3
    import pyarrow.parquet as pq

    read = pq.read_table(tmp_path / "m.parquet").to_pylist()
    assert read == rows
    for row, base in zip(read, shared):
        assert list(row) == ["data_source", "prompt", "ability", "reward_model", "extra_info"]
        assert (row["data_source"], row["ability"], row["prompt"]) == ("rlvr_gym/Math-v0", "math", base["prompt"])
        assert row["reward_model"]["style"] == "rule"
        assert row["extra_info"] == {"index": base["index"], "split": "test", "difficulty": base["difficulty"],
                                     "seed": base["seed"], "env_id": "Math-v0"}
        assert parse_ground_truth(row["reward_model"]["ground_truth"]) == (
            "Math-v0", {"levels": [1]}, {"answer": base["answer"], "item": base["item"]})
        truth = row["reward_model"]["ground_truth"]
        assert compute_score(row["data_source"], f"so \\boxed{{{base['answer']}}}", truth) == 1.0
        assert compute_score(row["data_source"], "\\boxed{-123456}", json.loads(truth), {}) == 0.0
    tc = next(verl_rows("TemporalClue-Easy-v0", 1))
    assert tc["ability"] == "logic" and set(json.loads(tc["reward_model"]["ground_truth"])["reward_columns"]) == {
        "solution", "candidates"}
    with pytest.raises(ValueError, match="ground_truth must be"):
        compute_score("x", "y", "42")


def test_cli_export(tmp_path, capsys):
    pytest.importorskip("pyarrow")
    from rlvr_gym.cli.main import main

    assert main(["export", "dataset", "Math-v0", "-n", "3", "--env-kwargs", '{"levels": [2]}',
                 "--out", str(tmp_path / "m.jsonl")]) == 0
    assert read_rows(tmp_path / "m.jsonl") == build_rows("Math-v0", 3, env_kwargs={"levels": [2]})
    assert main(["export", "verl", "Math-Easy-v0", "-n", "2", "--split", "val", "--seed", "4",
                 "--out", str(tmp_path / "v.parquet")]) == 0
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "v.parquet").to_pylist()
    assert [r["extra_info"]["split"] for r in table] == ["val", "val"]
    assert "wrote 2 Math-Easy-v0 rows (verl parquet)" in capsys.readouterr().out
    assert main(["export", "dataset", "Math-v0", "-n", "0", "--out", str(tmp_path / "x.jsonl")]) == 2
    assert main(["export", "verl", "Nope-v0", "-n", "1", "--out", str(tmp_path / "x.parquet")]) == 2
    assert "unknown env id" in capsys.readouterr().err
