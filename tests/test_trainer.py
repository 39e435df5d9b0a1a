"""The GRPO trainer (agents/grpo/, cli/train.py): datasets from envs, rewards, a real TRL run on the tiny
model with a curriculum hook, the multi-turn feedback env, config merging, and kill-and-resume (slow)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from rlvr_gym.agents.grpo import TrainConfig
from rlvr_gym.agents.grpo.curriculum import Curriculum
from rlvr_gym.agents.grpo.data import parse_env_specs

TINY = dict(model="tiny-random", peft="lora", lora_r=4, train_size=8, eval_size=2, max_completion_length=8,
            per_device_train_batch_size=4, num_generations=2, max_steps=2, save_steps=1, progress=False,
            eval_batch_size=4)


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def test_env_specs_weights_and_errors():
    assert parse_env_specs(["Math-Easy-v0:3", "TemporalClue-Easy-v0"]) == [("Math-Easy-v0", 0.75),
                                                                           ("TemporalClue-Easy-v0", 0.25)]
    assert parse_env_specs("rlvr_gym:Math-v0") == [("rlvr_gym:Math-v0", 1.0)]
    for bad in (["Math-v0:-1"], [], ["Math-v0", "Math-v0"], [""]):
        with pytest.raises(ValueError):
            parse_env_specs(bad)


def test_config_validation_and_grpo_passthrough():
    config = TrainConfig.from_dict({"env": "Math-Easy-v0", "epsilon_high": 0.28, "grpo": {"top_p": 0.9}}).validate()
    assert config.env == ["Math-Easy-v0"] and config.grpo == {"top_p": 0.9, "epsilon_high": 0.28}
    with pytest.raises(ValueError, match="unknown train config"):
        TrainConfig.from_dict({"no_such_option": 1})
    with pytest.raises(ValueError, match="GRPOConfig"):
        TrainConfig(grpo={"no_such_option": 1}).validate()
    with pytest.raises(ValueError, match="eval_seed"):
        TrainConfig(seed=5, eval_seed=5).validate()
    with pytest.raises(ValueError, match="peft"):
        TrainConfig(peft="qlora").validate()
    from rlvr_gym.agents.grpo.config import make_grpo_config

    args = make_grpo_config(TrainConfig(out="/tmp/unused", device="cpu", grpo={"epsilon_high": 0.28}).validate())
    assert args.use_cpu and not args.bf16 and args.epsilon_high == 0.28 and not args.use_vllm
    # --vllm only passes TRL's switches through; nothing imports vllm until GRPOTrainer is built (on a GPU)
    args = make_grpo_config(TrainConfig(out="/tmp/unused", device="cpu", vllm="server").validate())
    assert args.use_vllm and args.vllm_mode == "server" and "vllm" not in sys.modules
    with pytest.raises(ValueError, match="vllm"):
        TrainConfig(vllm="remote").validate()


def test_cli_yaml_then_flags(tmp_path):
    from rlvr_gym.cli.main import build_parser
    from rlvr_gym.cli.train import config_from_args

    cfg = tmp_path / "c.yaml"
    cfg.write_text("env: [Math-Easy-v0]\nmax_steps: 7\nlora_r: 8\nepsilon_high: 0.3\n")
    args = build_parser("train").parse_args(["train", "--config", str(cfg), "--lora-r", "4", "--grpo", "top_p=0.5",
                                             "--env", "Math-Easy-v0:0.5", "--env", "TemporalClue-Easy-v0:0.5"])
    config = config_from_args(args)
    assert (config.max_steps, config.lora_r) == (7, 4)
    assert config.grpo == {"epsilon_high": 0.3, "top_p": 0.5}
    assert config.env == ["Math-Easy-v0:0.5", "TemporalClue-Easy-v0:0.5"]


def test_dataset_mix_columns_and_heldout_is_disjoint():
    from rlvr_gym.agents.grpo.data import build_dataset

    ds = build_dataset(["Math-Easy-v0:0.75", "TemporalClue-Easy-v0:0.25"], 8, seed=0)
    assert len(ds) == 8 and list(ds["index"]) == list(range(8))
    assert sorted(ds["env_id"]).count("Math-Easy-v0") == 6
    row = next(r for r in ds if r["env_id"] == "TemporalClue-Easy-v0")
    assert row["prompt"][-1]["role"] == "user" and json.loads(row["solution"]) and json.loads(row["candidates"])
    assert row["label"].startswith("TemporalClue-Easy-v0/")
    math_rows = [r for r in ds if r["env_id"] == "Math-Easy-v0"]
    assert all(r["answer"] and r["difficulty"].startswith("level-") for r in math_rows)
    # same seed -> same rows; the held-out seed -> other problems
    again = build_dataset(["Math-Easy-v0:0.75", "TemporalClue-Easy-v0:0.25"], 8, seed=0)
    assert again["prompt"] == ds["prompt"]
    held = build_dataset(["Math-Easy-v0"], 6, seed=1_000_003)
    assert not {r["prompt"][-1]["content"] for r in held} & {r["prompt"][-1]["content"] for r in math_rows}


def test_env_reward_routes_rows_to_their_verifier():
    from rlvr_gym.agents.grpo.data import EnvReward, build_dataset

    ds = build_dataset(["Math-Easy-v0", "TemporalClue-Easy-v0"], 4, seed=3)
    reward = EnvReward()
    completions, kwargs = [], {k: [] for k in ("env_id", "answer", "solution", "candidates", "seed")}
    for row in ds:
        if row["answer"]:
            text = f"so \\boxed{{{row['answer']}}}"
        else:
            text = "\n".join(f"{k}. {v}" for k, v in json.loads(row["solution"]).items())
        for good in (True, False):
            completions.append([{"role": "assistant", "content": text if good else "I do not know."}])
            for key in kwargs:
                kwargs[key].append(row[key])
    scores = reward(completions, **kwargs)
    assert scores == [1.0, 0.0] * len(ds)
    reward.close()


class RecordingCurriculum(Curriculum):
    """Doubles every advantage and remembers what it saw."""

    def __init__(self):
        self.calls = []

    def on_batch(self, *, dataset_indices, group_ids, rewards, advantages, labels, step):
        self.calls.append({"indices": list(dataset_indices), "groups": list(group_ids), "n": len(advantages),
                           "rewards": len(rewards), "labels": list(labels), "step": step})
        return advantages * 2

    def metrics(self):
        return {"calls": float(len(self.calls))}

    def state_dict(self):
        return {"calls": len(self.calls)}


def test_train_tiny_run_folder_and_curriculum_hook(tmp_path):
    from rlvr_gym.agents.grpo import train

    curriculum = RecordingCurriculum()
    result = train(TrainConfig(env=["Math-Easy-v0"], out=str(tmp_path / "run"), **TINY), curriculum=curriculum)
    out = tmp_path / "run"
    assert result.steps == 2
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]
    for key in ("reward", "accuracy", "completion_length", "learning_rate", "time", "tokens_per_s", "curriculum/calls"):
        assert key in rows[-1], key
    # the hook saw each generation batch: 2 prompts x 2 completions, groups of 2, dataset row indices
    assert len(curriculum.calls) == 2 and curriculum.calls[0]["n"] == 4 and curriculum.calls[0]["groups"] == [0, 0, 1, 1]
    call = curriculum.calls[0]
    assert call["indices"][0] == call["indices"][1] and all(0 <= i < 8 for i in call["indices"])
    assert all(label.startswith("level-") for label in call["labels"])
    assert json.loads((out / "checkpoint-2" / "curriculum.json").read_text())["state"] == {"calls": 2}
    for name in ("config.yaml", "eval_before.json", "eval_after.json", "reward.png", "heldout.png", "result.json"):
        assert (out / name).is_file(), name
    assert list((out / "completions").glob("*.parquet"))
    assert (out / "eval_before" / "Math-Easy-v0" / "results.jsonl").is_file()
    assert result.eval_before["by_env"]["Math-Easy-v0"]["episodes"] == 2
    # the same run again is reported, not trained (issue 14); other settings in the same folder need --resume
    again = train(TrainConfig(env=["Math-Easy-v0"], out=str(out), **TINY))
    assert again.reported and again.steps == 2 and again.eval_after == result.eval_after
    with pytest.raises(ValueError, match="--resume"):
        train(TrainConfig(env=["Math-Easy-v0"], out=str(out), **{**TINY, "lora_r": 8}))


def test_heldout_uses_eval_env_kwargs_over_env_kwargs(tmp_path):
    from rlvr_gym.agents.grpo import train
    from rlvr_gym.envs.math.procedural import question_split

    kwargs = {**TINY, "max_steps": 1, "eval_size": 6}
    train(TrainConfig(env=["Math-v0"], env_kwargs={"Math-v0": {"levels": [0], "split": "train", "last_number": True}},
                      eval_env_kwargs={"Math-v0": {"split": "test"}}, out=str(tmp_path / "run"), **kwargs))
    rows = [json.loads(line) for line in (tmp_path / "run" / "eval_after" / "Math-v0" / "results.jsonl").open()]
    questions = [r["prompt"].split("\n")[0] for r in rows]
    assert len(rows) == 6 and all(question_split(q) == "test" for q in questions)
    assert all(q.startswith("What is ") and len(q) == len("What is 1 + 2?") for q in questions)   # level 0 kept
    with pytest.raises(TypeError, match="eval_env_kwargs"):
        TrainConfig(eval_env_kwargs=["x"]).validate()


@pytest.mark.slow
def test_killed_run_resumes_from_its_last_checkpoint(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "rlvr_gym.cli.main", "train", "--env", "Math-Easy-v0", "--model", "tiny-random",
           "--out", str(out), "--max-steps", "6", "--save-steps", "2", "--batch-size", "4", "--num-generations", "2",
           "--max-completion-length", "8", "--train-size", "16", "--no-eval", "--no-progress", "--lora-r", "4"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (out / "checkpoint-2" / "trainer_state.json").is_file():
        assert proc.poll() is None, "the run ended before its first checkpoint"
        assert time.time() < deadline
        time.sleep(0.2)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = max(json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines())
    assert killed_at < 6
    done = subprocess.run(cmd + ["--resume"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5, 6]            # rows after the checkpoint were logged again, none twice
    result = json.loads((out / "result.json").read_text())
    assert result["resumed_from"].endswith("checkpoint-2") or result["resumed_from"].endswith("checkpoint-4")
    state = json.loads((out / "checkpoint-6" / "trainer_state.json").read_text())
    assert state["global_step"] == 6
