"""GRPO vs Prompt-GDRO vs Rollout-GDRO on the embedded language model (issue 5's benchmark, the real one).

benchmarks/gdro_compare.py runs the curricula on a simulated policy; this script runs them inside the real
trainer on SmolLM2-135M-Instruct (LoRA, CPU) with the main job's GRPO settings (configs/main_cpu.yaml), on a
mixed-difficulty Math-v0 training set (levels 0, 1, 2 by default: easy / frontier / hard for this model).

What is compared, and what is held equal:
- curricula: none (plain GRPO, num_generations per prompt), prompt-gdro, rollout-gdro (mean budget =
  num_generations, arms n_min..n_max; the DP keeps the realised mean EXACTLY at the budget, so every run spends
  per_device_train_batch_size rollouts per step);
- the same training prompts per step: plain GRPO and Prompt-GDRO draw them with TRL's RepeatSampler; the
  Rollout-GDRO worker gives its GroupSampler the same torch permutation (seeded with the run's seed), so all
  three see the same prompts in the same steps (only the group sizes differ); same seeds, steps, settings;
- groups = the env's difficulty label (``groups: label``): a run of ~15 steps x 4 prompts sees ~60 of its 512
  prompts, nearly all once, so pass@k bins (which need a prompt's history) would put almost every prompt in the
  "unseen" group and neither curriculum would have difficulty groups to act on.
- held-out, per level, after training (and once for the base model): greedy accuracy and pass@k (k samples at
  the training temperature; pass@k = any of the k correct) plus mean@k, on a fixed held-out set (eval seed
  1000003, ``--eval-size`` items per level, the same items for every run).

Each training run is a fresh subprocess (one at a time, 1 torch thread) that trains, then evaluates its adapter
and writes WORKDIR/<method>-s<seed>/bench.json; runs whose bench.json exists are skipped (resumable).

    python benchmarks/gdro_lm.py --steps 15 --seeds 0 1             # writes benchmarks/results/gdro_lm.{md,json}
    python benchmarks/gdro_lm.py --steps 2 --seeds 0 --eval-size 4 --k 2 --workdir /tmp/gdro_lm_smoke \\
        --out /tmp/gdro_lm_smoke/gdro_lm                             # smoke run
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_info, machine_line  # noqa: E402

METHODS = ("none", "prompt-gdro", "rollout-gdro")
ENV_ID = "Math-v0"
# Paper (spec/gdro.md): pass@8 averaged over math benchmarks; GRPO, Prompt-GDRO, Rollout-GDRO.
PAPER = {"Qwen3-1.7B": (50.74, 55.68, 56.14), "Qwen3-4B": (56.31, 63.70, 62.27), "Qwen3-8B": (62.04, 67.60, 67.75)}


# --------------------------------------------------------------------------------------------------------------
# Worker side (runs in a subprocess): training and held-out evaluation


def _same_prompts_as_repeat_sampler() -> None:
    """Make Rollout-GDRO's GroupSampler draw its epoch permutation as TRL's RepeatSampler does (torch.randperm
    with a generator seeded by the run's seed), so every curriculum sees the same prompts in the same steps."""
    import torch

    from rlvr_gym.agents.grpo import gdro

    class TorchPermutation:
        def __init__(self, seed: int):
            self.generator = torch.Generator()
            self.generator.manual_seed(int(seed))

        def permutation(self, n: int):
            return torch.randperm(n, generator=self.generator).numpy()

    original = gdro.GroupSampler.__init__

    def init(self, *args, seed: int = 0, **kwargs):
        original(self, *args, seed=seed, **kwargs)
        self.rng = TorchPermutation(seed)

    gdro.GroupSampler.__init__ = init


def evaluate_levels(model, tokenizer, spec: dict) -> dict:
    """Greedy accuracy and pass@k / mean@k (k samples at spec["temperature"]) per level on the held-out items.

    Items: the `rlvr eval` harness's episodes of Math-v0 restricted to one level (seed spec["eval_seed"]); the
    sampled completions of an item are graded by a fresh reset of the same episode and env.step."""
    import gymnasium as gym

    import rlvr_gym  # noqa: F401
    from rlvr_gym.agents.evaluation import evaluate
    from rlvr_gym.agents.hf import HFAgent
    from rlvr_gym.agents.lm.sampling import SamplingParams

    model.eval()
    agent = HFAgent.from_loaded(model, tokenizer, sampling=SamplingParams(temperature=0.0, max_tokens=spec["max_tokens"]),
                                batch_size=spec["batch_size"], system=spec.get("system"), device="cpu")
    out = {}
    for level in spec["levels"]:
        kwargs = dict(spec["env_kwargs"], levels=[level])
        t0 = time.perf_counter()
        rows, summary = evaluate(ENV_ID, agent, episodes=spec["n"], seed=spec["eval_seed"], env_kwargs=kwargs,
                                 batch_size=spec["batch_size"], progress=False)
        greedy = [1 if r["reward"] >= 1.0 - 1e-9 else 0 for r in rows]
        entry = {"n": len(rows), "greedy": sum(greedy) / len(rows), "greedy_items": greedy}
        k = spec.get("k", 0)
        if k:
            params = SamplingParams(temperature=spec["temperature"], max_tokens=spec["max_tokens"],
                                    seed=spec["sample_seed"], n=k)
            samples = agent.generate([agent.format_prompt(r["prompt"]) for r in rows], params)
            env = gym.make(ENV_ID, **kwargs)
            num_items = getattr(env.unwrapped, "num_items", None)
            correct = []
            for r, replies in zip(rows, samples):
                c = []
                for reply in replies:
                    options = None if num_items is None else {"index": r["index"] % num_items}
                    prompt, _ = env.reset(seed=r["seed"], options=options)
                    if prompt != r["prompt"]:
                        raise RuntimeError("re-reset gave a different item than the harness")
                    _, reward, *_ = env.step(reply.text)
                    c.append(1 if reward >= 1.0 - 1e-9 else 0)
                correct.append(c)
            env.close()
            entry.update(k=k, pass_k=sum(max(c) for c in correct) / len(correct),
                         mean_k=sum(sum(c) / k for c in correct) / len(correct), sampled_items=correct)
        entry["seconds"] = time.perf_counter() - t0
        out[f"level-{level}"] = entry
    return out


def worker(spec: dict) -> dict:
    """One job: "calibrate" / "base" (evaluate the base model) or "train" (train, then evaluate the adapter)."""
    import torch

    torch.set_num_threads(1)
    from rlvr_gym.agents.grpo import TrainConfig, train
    from rlvr_gym.agents.lm.models import load_model

    result: dict = {"kind": spec["kind"]}
    if spec["kind"] == "train":
        if spec["config"]["curriculum"] == "rollout-gdro":
            _same_prompts_as_repeat_sampler()
        t0 = time.perf_counter()
        run = train(TrainConfig(**spec["config"]))
        result["train"] = {**run.to_dict(), "metrics": run.metrics}
        result["train_seconds"] = time.perf_counter() - t0
        from rlvr_gym.agents.grpo.plots import plot_gdro_run

        result["gdro_plots"] = [str(p) for p in plot_gdro_run(run.out)]
        model, tokenizer, _ = load_model(spec["config"]["model"], "cpu")
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(Path(run.out) / "final")).merge_and_unload()
    else:
        model, tokenizer, _ = load_model(spec["model"], "cpu")
    t0 = time.perf_counter()
    result["eval"] = evaluate_levels(model, tokenizer, spec["eval"])
    result["eval_seconds"] = time.perf_counter() - t0
    return result


# --------------------------------------------------------------------------------------------------------------
# Driver side


def run_job(spec: dict, path: Path) -> dict:
    """Run one worker job in a fresh subprocess (1 thread) unless path already holds its result."""
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    path.parent.mkdir(parents=True, exist_ok=True)
    spec_file = path.with_name(path.stem + ".spec.json")
    spec_file.write_text(json.dumps(spec, indent=2), encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TRL_EXPERIMENTAL_SILENCE": "1",
           "TOKENIZERS_PARALLELISM": "false"}
    t0 = time.time()
    log = path.with_name(path.stem + ".log")
    with log.open("w", encoding="utf-8") as handle:
        proc = subprocess.run([sys.executable, __file__, "--worker", str(spec_file)], stdout=handle,
                              stderr=subprocess.STDOUT, env=env)
    if proc.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
        raise RuntimeError(f"job {path} failed (exit {proc.returncode}): " + " | ".join(tail))
    result = json.loads(path.with_name(path.stem + ".tmp.json").read_text(encoding="utf-8"))
    result["wall_s"] = time.time() - t0
    path.write_text(json.dumps(result), encoding="utf-8")
    return result


def eval_spec(args, base: dict, levels, n: int, k: int, seed: int) -> dict:
    return {"levels": list(levels), "n": n, "k": k, "eval_seed": seed, "sample_seed": 7,
            "temperature": float(base.get("temperature", 0.7)), "max_tokens": int(base["max_completion_length"]),
            "batch_size": args.eval_batch_size, "env_kwargs": dict(base["env_kwargs"][ENV_ID]),
            "system": base.get("system")}


def base_config(args) -> dict:
    from rlvr_gym.agents.grpo.config import load_config_file

    base = load_config_file(args.config)
    base["env_kwargs"] = {ENV_ID: dict((base.get("env_kwargs") or {}).get(ENV_ID, {}), levels=list(args.levels))}
    base.update(env=[ENV_ID], model=args.model, max_steps=args.steps, device="cpu", threads=1, progress=False,
                plots=True, eval_size=0, eval_before=False, eval_after=False, save_steps=args.steps + 1,
                save_total_limit=1, groups="label")
    return base


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--config", default="configs/main_cpu.yaml", help="the GRPO settings (the main job's)")
    parser.add_argument("--levels", type=int, nargs="+", default=[0, 1, 2], help="training / held-out levels")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--n-min", type=int, default=2)
    parser.add_argument("--n-max", type=int, default=8)
    parser.add_argument("--eval-size", type=int, default=24, help="held-out items per level")
    parser.add_argument("--eval-seed", type=int, default=1_000_003)
    parser.add_argument("--k", type=int, default=4, help="samples per held-out item for pass@k")
    parser.add_argument("--eval-batch-size", type=int, default=24)
    parser.add_argument("--calibration-levels", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--calibration-size", type=int, default=24)
    parser.add_argument("--calibration-seed", type=int, default=424_242)
    parser.add_argument("--workdir", default="/tmp/rlvr_gdro_lm")
    parser.add_argument("--out", default="benchmarks/results/gdro_lm")
    args = parser.parse_args(argv)
    if args.worker:
        spec = json.loads(Path(args.worker).read_text(encoding="utf-8"))
        result = worker(spec)
        Path(args.worker.replace(".spec.json", ".tmp.json")).write_text(json.dumps(result), encoding="utf-8")
        return 0

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    frozen = work / "base_config.json"   # the settings of the first invocation: a resumed benchmark keeps them
    if frozen.is_file():
        base = json.loads(frozen.read_text(encoding="utf-8"))
    else:
        base = base_config(args)
        frozen.write_text(json.dumps(base, indent=2), encoding="utf-8")
    command = "python benchmarks/gdro_lm.py " + " ".join(argv if argv is not None else sys.argv[1:])
    started = time.time()
    state = {"calibration": None, "base": None, "runs": {}}

    print("calibration (greedy, base model) ...", flush=True)
    state["calibration"] = run_job({"kind": "calibrate", "model": args.model,
                                    "eval": eval_spec(args, base, args.calibration_levels, args.calibration_size, 0,
                                                      args.calibration_seed)}, work / "calibration.json")
    print("  " + ", ".join(f"{lv} {e['greedy']:.2f}" for lv, e in state["calibration"]["eval"].items()), flush=True)
    print("base model held-out ...", flush=True)
    state["base"] = run_job({"kind": "base", "model": args.model,
                             "eval": eval_spec(args, base, args.levels, args.eval_size, args.k, args.eval_seed)},
                            work / "base.json")
    report(args, base, state, command, started)
    for seed in args.seeds:
        for method in args.methods:
            name = f"{method}-s{seed}"
            out = work / name
            config = dict(base, curriculum=method, seed=seed, out=str(out / "run"))
            if method == "rollout-gdro":
                config["curriculum_kwargs"] = {"n_min": args.n_min, "n_max": args.n_max}
            result_file = out / "bench.json"
            if not result_file.is_file() and (out / "run").exists():
                shutil.rmtree(out / "run")       # an interrupted run starts again
            t0 = time.time()
            print(f"{name} ...", flush=True)
            r = run_job({"kind": "train", "config": config,
                         "eval": eval_spec(args, base, args.levels, args.eval_size, args.k, args.eval_seed)},
                        result_file)
            state["runs"][name] = r
            ev = r["eval"]
            print(f"  {time.time() - t0:.0f} s; greedy " + ", ".join(f"{lv} {e['greedy']:.2f}" for lv, e in ev.items())
                  + "; pass@k " + ", ".join(f"{lv} {e.get('pass_k', float('nan')):.2f}" for lv, e in ev.items()),
                  flush=True)
            report(args, base, state, command, started)
    return 0


# --------------------------------------------------------------------------------------------------------------
# Report


def _mean_sd(values: list[float]) -> tuple[float, float]:
    if not values:
        return math.nan, math.nan
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summarise_eval(ev: dict) -> dict:
    """mean over levels (= over all items: equal sizes), worst level, for greedy, pass@k and mean@k."""
    levels = list(ev)
    out = {"greedy_by_level": {lv: ev[lv]["greedy"] for lv in levels}}
    out["greedy_mean"] = statistics.mean(out["greedy_by_level"].values())
    out["greedy_worst"] = min(out["greedy_by_level"].values())
    if all("pass_k" in ev[lv] for lv in levels):
        out["pass_by_level"] = {lv: ev[lv]["pass_k"] for lv in levels}
        out["mean_k_by_level"] = {lv: ev[lv]["mean_k"] for lv in levels}
        out["pass_mean"] = statistics.mean(out["pass_by_level"].values())
        out["pass_worst"] = min(out["pass_by_level"].values())
        out["mean_k_mean"] = statistics.mean(out["mean_k_by_level"].values())
    return out


def step_times(metrics: list[dict]) -> list[float]:
    """Seconds per training step from metrics.jsonl's cumulative `time` (the first step, which carries the
    trainer's start-up, is left out)."""
    rows = sorted((r for r in metrics if "time" in r and "step" in r), key=lambda r: r["step"])
    return [b["time"] - a["time"] for a, b in zip(rows, rows[1:]) if b["step"] == a["step"] + 1]


def budget_movement(metrics: list[dict], labels: list[str]) -> dict:
    """Per level (label bin b = index in natural label order): Rollout-GDRO's rollouts per prompt and share of
    all rollouts; Prompt-GDRO's per-sample weight; per step and summed over the run."""
    rows = sorted((r for r in metrics if "step" in r), key=lambda r: r["step"])
    out: dict = {"steps": [r["step"] for r in rows]}
    for b, lab in enumerate(labels):
        counts = [r.get(f"gdro/bin_count/{b}", math.nan) for r in rows]
        rollouts = [r.get(f"gdro/rollouts/{b}", math.nan) for r in rows]
        weights = [r.get(f"gdro/weight/{b}", math.nan) for r in rows]
        entry = {"prompts": counts}
        if any(isinstance(x, (int, float)) and not math.isnan(x) for x in rollouts):
            entry["rollouts_per_prompt"] = rollouts
        if any(isinstance(x, (int, float)) and not math.isnan(x) for x in weights):
            entry["weight"] = weights
        out[lab] = entry
    totals = {lab: sum(c * n for c, n in zip(out[lab]["prompts"], out[lab].get("rollouts_per_prompt", []))
                       if not (math.isnan(c) or math.isnan(n))) for lab in labels}
    prompts = {lab: sum(c for c in out[lab]["prompts"] if not math.isnan(c)) for lab in labels}
    grand = sum(totals.values())
    if grand:
        out["rollout_share"] = {lab: totals[lab] / grand for lab in labels}
        out["mean_rollouts_per_prompt"] = {lab: totals[lab] / prompts[lab] if prompts[lab] else math.nan
                                           for lab in labels}
    total_prompts = sum(prompts.values())
    out["prompt_share"] = {lab: prompts[lab] / total_prompts if total_prompts else math.nan for lab in labels}
    realised = [r["gdro/mean_rollouts"] for r in rows if "gdro/mean_rollouts" in r]
    if realised:
        out["realised_mean_rollouts"] = {"min": min(realised), "max": max(realised)}
    wsum: dict = {}
    for lab in labels:
        w = [x for x, c in zip(out[lab].get("weight", []), out[lab]["prompts"]) if not math.isnan(x) and c > 0]
        if w:
            wsum[lab] = statistics.mean(w)
    if wsum:
        out["mean_weight_when_present"] = wsum
    return out


def report(args, base: dict, state: dict, command: str, started: float) -> None:
    from rlvr_gym.agents.training.plots import pyplot, save_figure

    labels = [f"level-{lv}" for lv in args.levels]
    runs = state["runs"]
    base_ev = summarise_eval(state["base"]["eval"]) if state.get("base") else None
    per_method: dict = {}
    for method in args.methods:
        done = [(seed, runs[f"{method}-s{seed}"]) for seed in args.seeds if f"{method}-s{seed}" in runs]
        if not done:
            continue
        evs = [summarise_eval(r["eval"]) for _, r in done]
        times = [step_times(r["train"]["metrics"]) for _, r in done]
        overhead = [statistics.mean([m.get("gdro/overhead_s", 0.0) for m in r["train"]["metrics"]])
                    for _, r in done]
        entry = {"seeds": [s for s, _ in done]}
        for key in ("greedy_mean", "greedy_worst", "pass_mean", "pass_worst", "mean_k_mean"):
            vals = [e[key] for e in evs if key in e]
            entry[key] = _mean_sd(vals)
            entry[key + "_per_seed"] = vals
        for key in ("greedy_by_level", "pass_by_level"):
            entry[key] = {lab: _mean_sd([e[key][lab] for e in evs if key in e]) for lab in labels}
        all_t = [t for ts in times for t in ts]
        entry["step_s_median"] = statistics.median(all_t) if all_t else math.nan
        entry["step_s_mean"] = statistics.mean(all_t) if all_t else math.nan
        entry["hook_s_per_step"] = statistics.mean(overhead)
        rewards = [statistics.mean(m["reward"] for m in r["train"]["metrics"] if "reward" in m) for _, r in done]
        entry["train_reward_mean"] = _mean_sd(rewards)
        entry["budget"] = {str(s): budget_movement(r["train"]["metrics"], labels) for s, r in done}
        entry["train_s"] = statistics.mean(r["train_seconds"] for _, r in done)
        entry["eval_s"] = statistics.mean(r["eval_seconds"] for _, r in done)
        per_method[method] = entry

    # paired differences vs plain GRPO (same held-out items, same seed)
    paired: dict = {}
    for method in args.methods:
        if method == "none":
            continue
        diffs_g, diffs_p, per_seed = [], [], []
        for seed in args.seeds:
            a, b = runs.get(f"{method}-s{seed}"), runs.get(f"none-s{seed}")
            if not (a and b):
                continue
            dg, dp = [], []
            for lab in labels:
                dg += [x - y for x, y in zip(a["eval"][lab]["greedy_items"], b["eval"][lab]["greedy_items"])]
                if "sampled_items" in a["eval"][lab]:
                    dp += [max(x) - max(y) for x, y in zip(a["eval"][lab]["sampled_items"],
                                                           b["eval"][lab]["sampled_items"])]
            per_seed.append({"seed": seed, "greedy": statistics.mean(dg), "pass": statistics.mean(dp) if dp else None})
            diffs_g += dg
            diffs_p += dp
        if per_seed:
            def se(d):
                return statistics.stdev(d) / math.sqrt(len(d)) if len(d) > 1 else math.nan
            paired[method] = {"per_seed": per_seed, "greedy_diff": statistics.mean(diffs_g), "greedy_se": se(diffs_g),
                              "pass_diff": statistics.mean(diffs_p) if diffs_p else math.nan,
                              "pass_se": se(diffs_p) if diffs_p else math.nan, "items": len(diffs_g),
                              # the honest error bar: seeds, not items, are the independent replications
                              "greedy_se_seeds": se([q["greedy"] for q in per_seed]),
                              "pass_se_seeds": se([q["pass"] for q in per_seed if q["pass"] is not None])}

    info = machine_info(["torch", "transformers", "trl", "peft"])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    # plots: per-level accuracy by method (greedy and pass@k), and the budget movement
    figures = []
    if per_method:
        import numpy as np

        plt = pyplot()
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
        names = (["base"] if base_ev else []) + list(per_method)
        width = 0.8 / len(names)
        x = np.arange(len(labels))
        for ax, key, title in ((axes[0], "greedy_by_level", "greedy accuracy"),
                               (axes[1], "pass_by_level", f"pass@{args.k} (T={base.get('temperature')})")):
            for j, name in enumerate(names):
                if name == "base":
                    vals, errs = [base_ev[key][lab] if key in base_ev else math.nan for lab in labels], None
                else:
                    vals = [per_method[name][key][lab][0] for lab in labels]
                    errs = [per_method[name][key][lab][1] for lab in labels]
                ax.bar(x + (j - (len(names) - 1) / 2) * width, vals, width, yerr=errs, capsize=2, label=name)
            ax.set_xticks(x, labels)
            ax.set_title(f"held-out {title} per level")
            ax.set_ylim(0, 1)
            ax.grid(axis="y", alpha=0.3)
        axes[0].set_ylabel(f"accuracy ({args.eval_size} items/level, mean ± sd over seeds)")
        axes[1].legend(fontsize=8)
        figures.append(save_figure(fig, str(out) + "_accuracy.png"))
        rg = per_method.get("rollout-gdro")
        pg = per_method.get("prompt-gdro")
        if rg or pg:
            fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
            for ax, entry, key, title in ((axes[0], rg, "rollouts_per_prompt", "Rollout-GDRO: rollouts per prompt"),
                                          (axes[1], pg, "weight", "Prompt-GDRO: per-sample weight")):
                if not entry:
                    ax.set_visible(False)
                    continue
                for seed, bm in entry["budget"].items():
                    for j, lab in enumerate(labels):
                        ys = bm[lab].get(key)
                        if ys:
                            ax.plot(bm["steps"], ys, "o-" if seed == str(entry["seeds"][0]) else "s--", ms=3,
                                    color=f"C{j}", alpha=0.8, label=f"{lab} (seed {seed})")
                ax.set_xlabel("step (points only where the level is in the batch)")
                ax.set_title(title)
                ax.grid(alpha=0.3)
                ax.legend(fontsize=7, ncol=2)
            figures.append(save_figure(fig, str(out) + "_budget.png"))
    # the trainer-side GDRO plots of the first seed's runs
    copied = []
    for method in ("prompt-gdro", "rollout-gdro"):
        for seed in args.seeds[:1]:
            r = runs.get(f"{method}-s{seed}")
            for p in (r or {}).get("gdro_plots", []):
                p = Path(p)
                if p.is_file():
                    dest = Path(str(out) + f"_{method.replace('-', '_')}_s{seed}_{p.name}")
                    shutil.copyfile(p, dest)
                    copied.append(dest)

    cal = state["calibration"]["eval"] if state.get("calibration") else {}
    lines = [
        "# GDRO curricula on the embedded language model (GRPO vs Prompt-GDRO vs Rollout-GDRO)",
        "",
        f"Machine: {machine_line(info)}. Written {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; this "
        f"invocation {time.time() - started:.0f} s (a resumed invocation reuses finished runs). The machine was "
        "shared: the main-job training ran on the other core the whole time.",
        "",
        f"Command: `{command}`",
        "",
        "## Set-up",
        "",
        f"- Model {base['model']} (SmolLM2-135M-Instruct), LoRA r={base.get('lora_r')} alpha={base.get('lora_alpha')}, CPU, "
        f"1 torch thread; the main job's GRPO settings ({args.config}): lr {base.get('learning_rate')}, loss "
        f"{base.get('loss_type')}, beta {base.get('beta')}, temperature {base.get('temperature')}, "
        f"{base.get('per_device_train_batch_size')} completions per step, max {base.get('max_completion_length')} "
        f"new tokens, {args.steps} steps per run, train_size {base.get('train_size')}.",
        f"- Training set: {ENV_ID} {json.dumps(base['env_kwargs'][ENV_ID])} (levels drawn uniformly per item).",
        f"- Curricula: none = plain GRPO, {base.get('num_generations')} rollouts per prompt "
        f"({base.get('per_device_train_batch_size') // base.get('num_generations')} prompts per step); prompt-gdro "
        f"(paper defaults: gamma 0.01, beta 0.12, eta_q 0.65, cap 15, loss normalised by class share, signal "
        f"'error'); rollout-gdro (arms {args.n_min}..{args.n_max}, mean budget {base.get('num_generations')} kept "
        "exactly by the DP, defaults otherwise). Groups: the difficulty label (`groups: label`; bin b = level-b "
        "here, so bin 0 is the EASIEST, unlike pass@k bins where bin 0 is the hardest). Why labels: a run sees "
        f"{args.steps} x {base.get('per_device_train_batch_size') // base.get('num_generations')} = "
        f"{args.steps * base.get('per_device_train_batch_size') // base.get('num_generations')} prompts of "
        f"{base.get('train_size')}, almost all once, so online pass@k bins (which need a prompt's history) "
        "would hold nearly every prompt in the 'unseen' group.",
        "- Held equal: seeds, steps, the prompts of every step (Rollout-GDRO's sampler is given TRL's "
        "RepeatSampler permutation; only the group sizes differ), total rollouts per step "
        f"({base.get('per_device_train_batch_size')}; realised mean rollouts per prompt logged as "
        "`gdro/mean_rollouts`).",
        f"- Held-out: {args.eval_size} items per level (eval seed {args.eval_seed}, the same items for every "
        f"model), greedy accuracy; pass@{args.k} = any of {args.k} samples at T={base.get('temperature')} correct "
        f"(sampling seed fixed); mean@{args.k} = mean sampled accuracy. Max {base.get('max_completion_length')} new "
        "tokens, the training env options (last-number grading). Level 0 has only a few hundred distinct "
        "problems, so some held-out level-0 items may also occur in training (same for every method).",
        "",
        "## Calibration (base model, greedy)",
        "",
        f"{args.calibration_size} items per level, seed {args.calibration_seed} (not the held-out seed):",
        "",
        "| level | " + " | ".join(cal) + " |",
        "| --- | " + " | ".join("---" for _ in cal) + " |",
        "| greedy accuracy | " + " | ".join(f"{e['greedy']:.3f}" for e in cal.values()) + " |",
        "",
    ]
    k = args.k
    lines += [
        "## Results (held-out, mean ± sd over seeds)",
        "",
        f"| model | seeds | mean acc (greedy) | worst-level acc | mean pass@{k} | worst-level pass@{k} | mean@{k} | "
        + " | ".join(f"{lab} greedy" for lab in labels) + " | " + " | ".join(f"{lab} pass@{k}" for lab in labels)
        + " |",
        "| --- " * (7 + 2 * len(labels)) + "|",
    ]
    if base_ev:
        lines.append(f"| base (no training) | - | {base_ev['greedy_mean']:.3f} | {base_ev['greedy_worst']:.3f} | "
                     f"{base_ev.get('pass_mean', math.nan):.3f} | {base_ev.get('pass_worst', math.nan):.3f} | "
                     f"{base_ev.get('mean_k_mean', math.nan):.3f} | "
                     + " | ".join(f"{base_ev['greedy_by_level'][lab]:.3f}" for lab in labels) + " | "
                     + " | ".join(f"{base_ev.get('pass_by_level', {}).get(lab, math.nan):.3f}" for lab in labels)
                     + " |")

    def ms(pair):
        return f"{pair[0]:.3f} ± {pair[1]:.3f}"

    for method, e in per_method.items():
        lines.append(f"| {method} | {','.join(map(str, e['seeds']))} | {ms(e['greedy_mean'])} | "
                     f"{ms(e['greedy_worst'])} | {ms(e['pass_mean'])} | {ms(e['pass_worst'])} | "
                     f"{ms(e['mean_k_mean'])} | "
                     + " | ".join(ms(e["greedy_by_level"][lab]) for lab in labels) + " | "
                     + " | ".join(ms(e["pass_by_level"][lab]) for lab in labels) + " |")
    lines += ["", "Per seed (greedy mean / pass@k mean): " + "; ".join(
        f"{m}: " + ", ".join(f"s{s} {g:.3f}/{p:.3f}" for s, g, p in zip(e["seeds"], e["greedy_mean_per_seed"],
                                                                          e["pass_mean_per_seed"]))
        for m, e in per_method.items()), ""]
    if paired:
        lines += ["Paired difference vs plain GRPO (same seed, same held-out items; mean over all items of all "
                  "levels and seeds, ± standard error over item pairs, and ± standard error over seeds, the one "
                  "that counts: seeds are the independent replications):", ""]
        for method, p in paired.items():
            lines.append(f"- {method}: greedy {p['greedy_diff']:+.3f} ± {p['greedy_se']:.3f} (items) ± "
                         f"{p['greedy_se_seeds']:.3f} (seeds), pass@{k} {p['pass_diff']:+.3f} ± {p['pass_se']:.3f} "
                         f"(items) ± {p['pass_se_seeds']:.3f} (seeds) ({p['items']} item pairs); per seed: "
                         + ", ".join(f"s{q['seed']} greedy {q['greedy']:+.3f} pass {q['pass']:+.3f}"
                                     for q in p["per_seed"]))
        lines.append("")
    lines += ["## Cost per step", "",
              "| curriculum | s/step (median) | s/step (mean) | curriculum hooks s/step | train reward (run mean) | "
              "train s/run | eval s/run |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for method, e in per_method.items():
        lines.append(f"| {method} | {e['step_s_median']:.1f} | {e['step_s_mean']:.1f} | {e['hook_s_per_step']:.4f} | "
                     f"{ms(e['train_reward_mean'])} | {e['train_s']:.0f} | {e['eval_s']:.0f} |")
    lines += ["", "Step times are wall-clock between consecutive metrics.jsonl rows (`time`), first step left "
              "out, on a 2-core machine shared with another training job: their differences are dominated by "
              "generation length and machine load, not by the curricula; the hook time (`gdro/overhead_s`) is "
              "the curriculum's own cost.", ""]
    lines += ["## How the budget moved", ""]
    for method in ("rollout-gdro", "prompt-gdro"):
        e = per_method.get(method)
        if not e:
            continue
        for seed, bm in e["budget"].items():
            if method == "rollout-gdro":
                share = bm.get("rollout_share", {})
                mean_n = bm.get("mean_rollouts_per_prompt", {})
                lines.append(f"- rollout-gdro seed {seed}: share of prompts / share of rollouts / mean rollouts per "
                             "prompt: " + "; ".join(
                                 f"{lab} {bm['prompt_share'][lab]:.2f} / {share.get(lab, math.nan):.2f} / "
                                 f"{mean_n.get(lab, math.nan):.2f}" for lab in labels)
                             + f"; realised mean rollouts per prompt each step: "
                             f"{bm.get('realised_mean_rollouts')}.")
                per_step = []
                for j, step in enumerate(bm["steps"]):
                    per_step.append(f"{step}: " + " ".join(
                        f"{bm[lab]['prompts'][j]:.0f}x{bm[lab]['rollouts_per_prompt'][j]:.0f}"
                        if bm[lab]['prompts'][j] and "rollouts_per_prompt" in bm[lab]
                        and not math.isnan(bm[lab]["rollouts_per_prompt"][j]) else "-" for lab in labels))
                lines.append("  per step (prompts x rollouts for " + "/".join(labels) + "): " + "; ".join(per_step))
            else:
                w = bm.get("mean_weight_when_present", {})
                lines.append(f"- prompt-gdro seed {seed}: mean per-sample weight of a level's samples when present: "
                             + "; ".join(f"{lab} {w.get(lab, math.nan):.2f}" for lab in labels))
                per_step = []
                for j, step in enumerate(bm["steps"]):
                    per_step.append(f"{step}: " + " ".join(
                        f"{bm[lab]['weight'][j]:.2f}" if "weight" in bm[lab] and bm[lab]["prompts"][j]
                        and not math.isnan(bm[lab]["weight"][j]) else "-" for lab in labels))
                lines.append("  per step (weight for " + "/".join(labels) + "): " + "; ".join(per_step))
    lines += ["", "Figures: " + ", ".join(f"`{Path(p).name}`" for p in [*figures, *copied]), ""]
    lines += ["## Against the paper", "", "Paper (spec/gdro.md, pass@8 over math benchmarks, Qwen3 1.7B-8B, "
              "500-1000 steps x 512 prompts x 4 rollouts): " + "; ".join(
                  f"{m} GRPO {g:.1f}, Prompt-GDRO {p:.1f} ({(p / g - 1) * 100:+.1f}%), Rollout-GDRO {r:.1f} "
                  f"({(r / g - 1) * 100:+.1f}%)" for m, (g, p, r) in PAPER.items()) + ".", ""]
    lines += ["READING: see the notes below (written after the run).", ""]
    notes_file = Path(str(out) + "_notes.md")
    if notes_file.is_file():
        lines += [notes_file.read_text(encoding="utf-8").strip(), ""]
    out.with_suffix(".md").write_text("\n".join(lines), encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps({
        "command": command, "machine": info, "args": vars(args), "base_config": base,
        "calibration": cal, "base_eval": base_ev,
        "base_eval_items": state["base"]["eval"] if state.get("base") else None,
        "methods": per_method, "paired_vs_grpo": paired,
        "runs": {name: {"eval": r["eval"], "train_seconds": r["train_seconds"], "eval_seconds": r["eval_seconds"],
                        "wall_s": r.get("wall_s"), "notes": r["train"].get("notes"),
                        "metrics": r["train"]["metrics"]} for name, r in runs.items()},
    }, indent=1, default=str), encoding="utf-8")
    print(f"wrote {out.with_suffix('.md')}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
