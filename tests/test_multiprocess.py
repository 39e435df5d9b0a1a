"""``rlvr train`` in two processes (``accelerate launch``, gloo on CPU) against one process (slow).

On a machine without GPUs, ``accelerate launch --multi_gpu --num_processes 2`` starts two ranks through
torch.distributed (the trainer's ``use_cpu`` makes them CPU ranks on gloo); ``accelerate launch --cpu`` starts a
single process unless MPI is set up (``--mpirun_hostfile``), so it is not what these tests run.

- With top-k 1 sampling each completion is a function of its prompt and the weights, so one process with batch 4
  and two with batch 2 each must log the same prompts, completions and rewards at every step, and each logged
  reward must be what ``env.step`` gives that completion in that row's episode (the rows reach every rank
  intact). With the embedded SmolLM2 prepared (``rlvr_gym.agents.lm.models prepare all``) the rewards are not all
  zero; otherwise the tiny random model runs the same checks.
- Two processes checkpoint and resume: a run stopped after 2 steps continues to 3 from checkpoint-2.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
pytest.importorskip("accelerate")
pytest.importorskip("trl")
pd = pytest.importorskip("pandas")

ENV_KWARGS = {"Math-v0": {"levels": [0], "last_number": True}}
COMMON = ["--env", "Math-v0", "--env-kwargs", json.dumps(ENV_KWARGS), "--peft", "lora", "--lora-r", "4",
          "--train-size", "8", "--max-completion-length", "8", "--num-generations", "2", "--save-steps", "1",
          "--no-progress", "--no-plots", "--seed", "0"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _train(args: list[str], cwd: Path, processes: int, timeout: int = 900) -> None:
    head = [sys.executable, "-m", "rlvr_gym.cli.main"]
    if processes > 1:
        head = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(processes),
                "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                "--main_process_port", str(_free_port()), "-m", "rlvr_gym.cli.main"]
    env = dict(os.environ, OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    done = subprocess.run(head + ["train", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"train failed ({processes} processes):\n{done.stdout[-3000:]}\n{done.stderr[-4000:]}"


def _logged(run: Path, step: int) -> list[tuple]:
    table = pd.read_parquet(run / "completions" / f"completions_{step:05d}.parquet")
    return sorted((row["prompt"][-1]["content"], row["completion"][-1]["content"], float(row["env_reward"]))
                  for _, row in table.iterrows())


def test_two_processes_log_the_same_completions_and_rewards_as_one(tmp_path):
    import rlvr_gym  # noqa: F401
    from rlvr_gym.agents.lm.models import is_prepared
    from rlvr_gym.envs.export import build_rows
    from rlvr_gym.envs.registration import make_env

    model = "smollm2-135m" if is_prepared("smollm2-135m") else "tiny-random"
    args = COMMON + ["--model", model, "--eval-size", "0", "--max-steps", "2", "--grpo", "top_k=1"]
    _train(args + ["--batch-size", "4", "--out", "one"], tmp_path, processes=1)
    _train(args + ["--batch-size", "2", "--out", "two"], tmp_path, processes=2)
    seeds = {row["prompt"][-1]["content"]: row["seed"]
             for row in build_rows("Math-v0", 8, seed=0, env_kwargs=ENV_KWARGS["Math-v0"])}
    env = make_env("Math-v0", **ENV_KWARGS["Math-v0"])
    rewards = []
    for step in (1, 2):
        one, two = _logged(tmp_path / "one", step), _logged(tmp_path / "two", step)
        assert len(one) == 4 and one == two, f"step {step}: {one} != {two}"
        for prompt, completion, reward in two:
            env.reset(seed=seeds[prompt])                  # the row's own episode
            assert env.step(completion)[1] == reward
            rewards.append(reward)
    metrics = [[json.loads(line)["reward"] for line in (tmp_path / run / "metrics.jsonl").open()]
               for run in ("one", "two")]
    assert metrics[0] == metrics[1] and len(metrics[0]) == 2
    if model == "smollm2-135m":
        assert max(rewards) == 1.0                          # a real model answers some single-digit sums


def test_two_processes_checkpoint_and_resume(tmp_path):
    args = COMMON + ["--model", "tiny-random", "--eval-size", "2", "--eval-batch-size", "2", "--batch-size", "2",
                     "--out", "run"]
    _train(args + ["--max-steps", "2"], tmp_path, processes=2)
    run = tmp_path / "run"
    assert (run / "checkpoint-2" / "trainer_state.json").is_file() and (run / "eval_before.json").is_file()
    _train(args + ["--max-steps", "3", "--resume"], tmp_path, processes=2)
    result = json.loads((run / "result.json").read_text(encoding="utf-8"))
    assert result["steps"] == 3 and result["resumed_from"].endswith("checkpoint-2")
    assert [json.loads(line)["step"] for line in (run / "metrics.jsonl").open()] == [1, 2, 3]   # written once
    assert (run / "checkpoint-3" / "trainer_state.json").is_file() and (run / "final").is_dir()
    assert sorted(p.name for p in (run / "completions").glob("*.parquet"))[-1] == "completions_00003.parquet"
    assert json.loads((run / "eval_after.json").read_text(encoding="utf-8"))["step"] == 3
    # the held-out evaluation ran on the main process only: one line per evaluation (before, after 2, after 3)
    assert [json.loads(line)["step"] for line in (run / "heldout.jsonl").open()] == [0, 2, 3]
