"""A GRPO run on rlvr-gym environments: ``train(config)`` (TRL's GRPOTrainer underneath).

Stages: validate the config; load the model (agents/lm/models.py); evaluate the held-out set before training
(agents/evaluation: an in-process hf agent on the model); build the dataset (data.py ``build_dataset``); wrap the
model in its PEFT preset (peft_presets.py); pick the curriculum (gdro.py) and the rollout (single-turn, or
multi_turn.py for multi-turn envs); train (trainer.py ``RLVRGRPOTrainer`` with the callbacks below); evaluate
after; plot; write result.json.

    from rlvr_gym.agents.grpo import TrainConfig, train
    result = train(TrainConfig(env=["Math-Easy-v0"], model="smollm2-135m", peft="lora", max_steps=20, out="runs/m"))
    result.eval_before["accuracy"], result.eval_after["accuracy"]

The held-out set is what the evaluation harness plays with seed ``config.eval_seed`` (a different seed from the
training rows, so different items; with ``eval_env_kwargs`` e.g. another split).

Run folder (``config.out``): config.yaml, metrics.jsonl (one JSON object per logged step: step, reward,
accuracy, completion_length, kl, learning_rate, loss, time, tokens_per_s, steps_per_s, curriculum/*, the GDRO
curricula's keys also bare (gdro/mean_rollouts, gdro/budget, ...: gdro.py), and TRL's raw keys),
completions/*.parquet (TRL's per-sample table), checkpoint-N/ (TRL checkpoints plus curriculum.json),
eval_before/ and eval_after/ (results.jsonl + summary.json per env, as ``rlvr eval --out``), heldout.jsonl
(held-out accuracy by step), reward.png and heldout.png, final/ (the trained weights or adapter), result.json.

Multi-process (``accelerate launch``): every rank builds the same dataset (seeded), curricula see the gathered
batch and so keep identical state on every rank, and files are written by the main process only.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlvr_gym.agents.grpo import gdro
from rlvr_gym.agents.grpo.checks import FinishedRun, finished_run, is_multi_turn, no_signal_warning, preflight
from rlvr_gym.agents.grpo.config import CPU_THREADS, TrainConfig, make_grpo_config, uses_cuda
from rlvr_gym.agents.grpo.curriculum import Curriculum
from rlvr_gym.agents.grpo.data import EnvReward, build_dataset, parse_env_specs
from rlvr_gym.agents.grpo.multi_turn import make_multi_turn_rollout
from rlvr_gym.agents.grpo.trainer import trainer_class
from rlvr_gym.agents.lm.models import load_model
from rlvr_gym.agents.training.plots import read_jsonl

__all__ = ["train", "RunResult", "METRIC_KEYS"]


# --------------------------------------------------------------------------------------------------------------
# Callbacks: metrics.jsonl, curriculum state, progress display, held-out evaluation


METRIC_KEYS = {  # our metrics.jsonl name <- TRL log key
    "reward": "reward", "reward_std": "reward_std", "accuracy": "accuracy",
    "completion_length": "completions/mean_length", "clipped_ratio": "completions/clipped_ratio",
    "kl": "kl", "learning_rate": "learning_rate", "loss": "loss", "grad_norm": "grad_norm",
    "entropy": "entropy", "frac_reward_zero_std": "frac_reward_zero_std", "num_tokens": "num_tokens",
}


def _callbacks(run: "_Run"):
    from transformers import TrainerCallback

    class MetricsCallback(TrainerCallback):
        """One JSON object per logged training step in metrics.jsonl (main process)."""

        def __init__(self):
            self.t0 = time.perf_counter()
            self.last = (self.t0, None, None)  # (time, step, num_tokens)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not state.is_world_process_zero or not logs:
                return
            if "train_runtime" in logs:          # the closing summary of trainer.train()
                run.train_summary = {k: v for k, v in logs.items() if isinstance(v, (int, float))}
                return
            if "reward" not in logs and "loss" not in logs:
                return
            now = time.perf_counter()
            row: dict[str, Any] = {"step": state.global_step, "time": run.time_offset + now - self.t0}
            for ours, theirs in METRIC_KEYS.items():
                if theirs in logs:
                    row[ours] = logs[theirs]
            last_t, last_step, last_tokens = self.last
            dt = now - last_t
            if dt > 0 and last_step is not None and state.global_step > last_step:
                row["steps_per_s"] = (state.global_step - last_step) / dt
                if "num_tokens" in logs and last_tokens is not None:
                    row["tokens_per_s"] = (logs["num_tokens"] - last_tokens) / dt
            elif dt > 0 and state.global_step > 0 and last_step is None:
                row["steps_per_s"] = (state.global_step - run.start_step) / dt
                if "num_tokens" in logs:
                    row["tokens_per_s"] = (logs["num_tokens"] - run.start_tokens) / dt
            self.last = (now, state.global_step, logs.get("num_tokens"))
            for key, value in logs.items():
                if key not in row and isinstance(value, (int, float)):
                    row[key] = value
            for key in [k for k in row if k.startswith("curriculum/gdro/")]:
                row.setdefault(key[len("curriculum/"):], row[key])   # also bare: gdro/mean_rollouts, gdro/budget...
            run.check_signal(row)
            with (run.out / "metrics.jsonl").open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(row) + "\n")
            run.last_metrics = row

    class CurriculumStateCallback(TrainerCallback):
        """Saves the curriculum's state_dict as curriculum.json in each checkpoint directory."""

        def on_save(self, args, state, control, **kwargs):
            if not state.is_world_process_zero:
                return
            ckpt = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            ckpt.mkdir(parents=True, exist_ok=True)
            payload = {"step": state.global_step, "curriculum": run.config.curriculum,
                       "state": run.curriculum.state_dict()}
            (ckpt / "curriculum.json").write_text(json.dumps(payload), encoding="utf-8")

    class ProgressCallback(TrainerCallback):
        """A rich progress bar with the latest reward, accuracy and completion length."""

        def __init__(self):
            self.bar = None
            self.task = None

        def on_train_begin(self, args, state, control, **kwargs):
            if not state.is_world_process_zero:
                return
            from rlvr_gym.agents.evaluation.progress import progress_bar

            self.bar = progress_bar()
            # Redraw only when a step ends: rich's default 10 Hz refresh thread competes with training for the
            # single CPU thread (a measurable cost in benchmarks/train_throughput.py on a busy 2-core machine).
            self.bar.live.auto_refresh = False
            self.bar.start()
            self.task = self.bar.add_task("train", total=state.max_steps, completed=state.global_step, status="")
            run.bar = self.bar

        def on_step_end(self, args, state, control, **kwargs):
            if self.bar is not None:
                m = run.last_metrics or {}
                status = " ".join(f"{k} {m[k]:.3g}" for k in ("reward", "accuracy", "completion_length", "kl")
                                  if isinstance(m.get(k), (int, float)))
                self.bar.update(self.task, completed=state.global_step, status=status)
                self.bar.refresh()

        def on_train_end(self, args, state, control, **kwargs):
            if self.bar is not None:
                self.bar.stop()
                self.bar = None
                run.bar = None

    class HeldOutCallback(TrainerCallback):
        """Held-out evaluation every ``eval_every`` steps (main process)."""

        def on_step_end(self, args, state, control, model=None, **kwargs):
            every = run.config.eval_every
            if every and state.global_step % every == 0 and state.global_step < state.max_steps:
                run.evaluate_heldout(f"eval_step{state.global_step}", state.global_step)

    callbacks = [MetricsCallback(), CurriculumStateCallback()]
    if run.config.progress:
        callbacks.append(ProgressCallback())
    if run.config.eval_every and run.config.eval_size:
        callbacks.append(HeldOutCallback())
    return callbacks


@dataclass
class RunResult:
    """What ``train`` returns. eval_before/eval_after: {"accuracy", "mean_reward", "by_env": {id: summary}}
    (None when skipped); metrics: the metrics.jsonl rows of this process's run."""

    out: Path
    steps: int
    eval_before: dict | None
    eval_after: dict | None
    metrics: list[dict]
    seconds: float
    notes: list[str]
    resumed_from: str | None = None
    train_summary: dict = field(default_factory=dict)   # TRL's closing log (train_runtime, ...)
    reported: bool = False   # True: the run had already finished; this is its stored result and nothing changed
    rollout_stats: dict = field(default_factory=dict)   # --rollouts vllm: seconds per rollout request and publish

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["out"] = str(self.out)
        d.pop("metrics")
        return d


class _Run:
    """State shared by train() and its callbacks."""

    def __init__(self, config: TrainConfig, out: Path):
        self.config = config
        self.out = out
        self.curriculum: Curriculum = Curriculum()
        self.last_metrics: dict | None = None
        self.train_summary: dict = {}
        self.time_offset = 0.0
        self.start_step = 0
        self.start_tokens = 0
        self.model = None
        self.tokenizer = None
        self.device = "cpu"
        self.is_main = True
        self.notes: list[str] = []
        self.training_started = False    # setup failures before this leave no run folder behind
        self.bar = None                  # the progress display while training (messages print through it)
        self._signal_rows: list[dict] = []
        self._signal_warned = False

    def say(self, message: str) -> None:
        """A message on stderr, above the progress display when there is one (main process)."""
        if not self.is_main:
            return
        if self.bar is not None:
            self.bar.console.print(f"[yellow]warning:[/] {message}", soft_wrap=True, highlight=False)
        else:
            import sys

            print(f"warning: {message}", file=sys.stderr, flush=True)

    def check_signal(self, row: dict) -> None:
        """The no-learning-signal rule (checks.no_signal_warning) on the rows logged so far: the first time it fires,
        the warning is printed, added to the run's notes (result.json) and flagged in this metrics row."""
        if "frac_reward_zero_std" not in row or self._signal_warned:
            return
        self._signal_rows.append(row)
        message = no_signal_warning(self._signal_rows, window=min(5, self.config.max_steps))
        if message is not None:
            self._signal_warned = True
            row["no_signal_warning"] = 1.0
            self.notes.append(f"step {row['step']}: {message}")
            self.say(message)

    def evaluate_heldout(self, name: str, step: int) -> dict | None:
        """Evaluate the current model on every env's held-out episodes; writes out/name/<env>/ and a line of
        heldout.jsonl. Main process only (other ranks return None)."""
        if not self.is_main or self.config.eval_size == 0:
            return None
        from rlvr_gym.agents.evaluation import evaluate, write_run
        from rlvr_gym.agents.hf import HFAgent
        from rlvr_gym.agents.lm.sampling import SamplingParams

        model = self.model
        was_training = model.training
        model.eval()
        max_tokens = self.config.eval_max_tokens or self.config.max_completion_length
        agent = HFAgent.from_loaded(model, self.tokenizer, device=self.device, system=self.config.system,
                                    sampling=SamplingParams(temperature=0.0, max_tokens=max_tokens),
                                    batch_size=self.config.eval_batch_size)
        by_env = {}
        try:
            for env_id, _ in parse_env_specs(self.config.env):
                rows, summary = evaluate(env_id, agent, episodes=self.config.eval_size, seed=self.config.eval_seed,
                                         env_kwargs={**self.config.env_kwargs.get(env_id, {}),
                                                     **self.config.eval_env_kwargs.get(env_id, {})},
                                         batch_size=self.config.eval_batch_size, progress=self.config.progress)
                write_run(self.out / name / env_id.replace(":", "_").replace("/", "_"), rows, summary)
                by_env[env_id] = summary
        finally:
            if was_training:
                model.train()
        n = sum(s["episodes"] for s in by_env.values())
        result = {"step": step, "name": name,
                  "accuracy": sum(s["solved_fraction"] * s["episodes"] for s in by_env.values()) / n,
                  "mean_reward": sum(s["mean_reward"] * s["episodes"] for s in by_env.values()) / n,
                  "by_env": {k: {"accuracy": v["solved_fraction"], "mean_reward": v["mean_reward"],
                                 "episodes": v["episodes"]} for k, v in by_env.items()}}
        with (self.out / "heldout.jsonl").open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(result) + "\n")
        return result


def _last_checkpoint(out: Path) -> Path | None:
    best = None
    for child in out.glob("checkpoint-*"):
        suffix = child.name.split("-", 1)[1]
        if child.is_dir() and suffix.isdigit() and (child / "trainer_state.json").is_file():
            if best is None or int(suffix) > int(best.name.split("-", 1)[1]):
                best = child
    return best


def _truncate_jsonl(path: Path, max_step: int) -> None:
    """Drop the rows logged after the checkpoint we resume from (they will be logged again)."""
    if not path.is_file():
        return
    keep = [line for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and json.loads(line).get("step", 0) <= max_step]
    path.write_text("".join(line + "\n" for line in keep), encoding="utf-8")


def _drop_eval_after(path: Path) -> None:
    """Drop the final evaluation's row of heldout.jsonl (a run being extended is evaluated again at its new end)."""
    if path.is_file():
        keep = [line for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip() and json.loads(line).get("name") != "eval_after"]
        path.write_text("".join(line + "\n" for line in keep), encoding="utf-8")


def _remove_run_files(out: Path, made: bool) -> None:
    """Undo a run that failed before training began: its folder was empty (or absent) when the run started."""
    import shutil

    if made:
        shutil.rmtree(out, ignore_errors=True)
    else:
        for child in out.iterdir():
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)


def _stored_result(out: Path, config: TrainConfig, finished: FinishedRun) -> RunResult:
    """The result of a finished run, read back; nothing is written. A re-run with other settings (other than
    max_steps, which may only grow) is refused unless --resume asks for the stored run's result."""
    if finished.changed and not config.resume:
        changes = ", ".join(f"{k} {old!r} -> {new!r}" for k, (old, new) in finished.changed.items())
        raise ValueError(f"{out} already holds a finished run with other settings ({changes}); choose another "
                         f"--out, or pass --resume to see that run's result")
    stored = finished.result
    notes = list(stored.get("notes") or [])
    notes.append(f"{out} holds a finished run of {finished.steps} steps: its stored result is shown and nothing "
                 f"was changed (to train it further: --resume --max-steps N with N > {finished.steps})")
    if finished.changed:
        notes.append("settings that differ from the stored run's were not applied: "
                     + ", ".join(f"{k} {old!r} -> {new!r}" for k, (old, new) in finished.changed.items()))
    return RunResult(out=out, steps=finished.steps, eval_before=stored.get("eval_before"),
                     eval_after=stored.get("eval_after"), metrics=read_jsonl(out / "metrics.jsonl"),
                     seconds=float(stored.get("seconds") or 0.0), notes=notes,
                     resumed_from=stored.get("resumed_from"), train_summary=dict(stored.get("train_summary") or {}),
                     reported=True, rollout_stats=dict(stored.get("rollout_stats") or {}))


def _server_rollout(config: TrainConfig, out: Path):
    """--rollouts vllm: the ServerRollout (rollout_func) and its AdapterPublisher for the server at --vllm-url."""
    from rlvr_gym.agents.grpo.vllm_rollouts import AdapterPublisher, ServerRollout
    from rlvr_gym.agents.serving.vllm_server import AdapterSwap, VLLMClient

    server = None
    url = config.vllm_url
    if url == "auto":
        from rlvr_gym.agents.grpo.vllm_rollouts import start_server

        server = start_server(config.model, lora_r=config.lora_r, max_completion_length=config.max_completion_length,
                              log_file=out / "vllm-server.log")
        url = server.url
    client = VLLMClient(url, api_key=os.environ.get("VLLM_API_KEY") or None)  # vLLM's own variable
    root = Path(config.vllm_adapter_dir) if config.vllm_adapter_dir else out / "vllm-adapters"
    return ServerRollout(client, AdapterPublisher(AdapterSwap(client, root.resolve())), server=server)


def train(config: TrainConfig, *, rollout_func=None, reward_funcs: list | None = None, extra_callbacks=(),
          curriculum: Curriculum | None = None) -> RunResult:
    """Run GRPO as configured; returns a RunResult (the run folder is described in the module docstring).

    rollout_func / reward_funcs: a TRL rollout_func and the reward functions that read its extra fields; by
    default single-turn generation and EnvReward, and for a multi-turn env (``TextEnv.multi_turn``, e.g.
    TemporalClue-Feedback-v0) the rollout of multi_turn.py. curriculum: a Curriculum object to use instead of the
    one ``config.curriculum`` names.

    A run folder that holds a finished run (``checks.finished_run``: result.json at ``max_steps`` or more) is
    reported, not trained again: its stored result comes back (``reported=True``) and no file changes; ``resume``
    with a larger ``max_steps`` extends it. Everything a user can get wrong is checked (``checks.preflight``) before
    the model is loaded or the folder is made, and a run that fails before training begins leaves no folder."""
    config.validate()
    started = time.perf_counter()
    import warnings

    # transformers 5 renamed gradient checkpointing; TRL still uses the old name on every step
    warnings.filterwarnings("ignore", message=".*gradient_checkpointing.* is deprecated", category=FutureWarning)
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")    # rollout_func is marked experimental
    out = Path(config.out)
    finished = finished_run(out, config)
    if finished is not None:
        return _stored_result(out, config, finished)
    resume_from = None
    if out.exists() and any(out.iterdir()):
        if config.resume:
            resume_from = _last_checkpoint(out)
        elif (out / "config.yaml").exists():
            raise ValueError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
    preflight(config)
    made = not out.exists()
    fresh = made or not any(out.iterdir())
    run = _Run(config, out)
    try:
        return _train(run, resume_from, started, rollout_func=rollout_func, reward_funcs=reward_funcs,
                      extra_callbacks=extra_callbacks, curriculum=curriculum)
    except BaseException:
        if fresh and not run.training_started and run.is_main:
            _remove_run_files(out, made)
        raise


def _train(run: _Run, resume_from: Path | None, started: float, *, rollout_func, reward_funcs, extra_callbacks,
           curriculum) -> RunResult:
    """The run itself (``train`` checked the config and the folder)."""
    config, out = run.config, run.out
    out.mkdir(parents=True, exist_ok=True)
    from accelerate import PartialState

    import torch

    cuda = uses_cuda(config)
    # cpu=True on CPU: without it, ranks started on a machine without GPUs (accelerate launch --multi_gpu, torchrun)
    # each see a one-process state, and every rank would evaluate and write the run's files as the main process.
    state = PartialState(cpu=not cuda)
    run.is_main = state.is_main_process
    run.device = str(state.device) if cuda else "cpu"
    if not cuda:
        torch.set_num_threads(config.threads or CPU_THREADS)

    from rlvr_gym.agents.grpo.peft_presets import prepare_peft, trainable_parameters

    # an adapter directory (e.g. an earlier run's final/) loads with its adapter trainable: training continues it
    model, tokenizer, model_path = load_model(config.model, run.device, trainable=True)
    run.model, run.tokenizer = model, tokenizer
    notes = run.notes

    if run.is_main:
        import yaml

        (out / "config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False), encoding="utf-8")
    if resume_from is not None:
        step = int(resume_from.name.split("-", 1)[1])
        if run.is_main:
            _truncate_jsonl(out / "metrics.jsonl", step)
            _truncate_jsonl(out / "heldout.jsonl", step)
        rows = read_jsonl(out / "metrics.jsonl")
        run.time_offset = rows[-1]["time"] if rows else 0.0
        run.start_step = step
        run.start_tokens = int(rows[-1].get("num_tokens", 0)) if rows else 0
        notes.append(f"resumed from {resume_from.name}")
        if (out / "result.json").is_file():      # a finished run, extended to a larger max_steps
            notes.append(f"extending the finished run from step {step} to {config.max_steps}")
            if run.is_main:
                _drop_eval_after(out / "heldout.jsonl")
    elif config.resume and run.is_main:      # killed before its first checkpoint: start again from step 0
        _truncate_jsonl(out / "metrics.jsonl", 0)
        _truncate_jsonl(out / "heldout.jsonl", 0)

    eval_before = None
    before_file = out / "eval_before.json"
    if config.eval_before and config.eval_size:
        if before_file.is_file():
            eval_before = json.loads(before_file.read_text(encoding="utf-8"))
        else:
            eval_before = run.evaluate_heldout("eval_before", 0)
            if run.is_main and eval_before is not None:
                before_file.write_text(json.dumps(eval_before, indent=2), encoding="utf-8")
        state.wait_for_everyone()

    dataset = build_dataset(config.env, config.train_size, config.seed, env_kwargs=config.env_kwargs,
                            system=config.system)
    setup = prepare_peft(model, config.peft, r=config.lora_r, alpha=config.lora_alpha, dropout=config.lora_dropout,
                         target_modules=config.target_modules, total_steps=config.max_steps,
                         learning_rate=config.learning_rate, beta=config.beta, extra=config.peft_kwargs)
    notes.extend(setup.notes)
    args = make_grpo_config(config, beta=setup.beta)
    run.curriculum = curriculum if curriculum is not None else gdro.make_curriculum(config.curriculum, config, dataset)
    if resume_from is not None and (resume_from / "curriculum.json").is_file():
        saved = json.loads((resume_from / "curriculum.json").read_text(encoding="utf-8"))
        run.curriculum.load_state_dict(saved.get("state") or {})

    specs = parse_env_specs(config.env)
    multi_turn = [e for e, _ in specs if is_multi_turn(e, config.env_kwargs)]
    if multi_turn and rollout_func is None:
        if len(specs) > 1:
            raise ValueError(f"a multi-turn env ({multi_turn[0]}) trains alone, not in a mix")
        rollout_func, episode_reward = make_multi_turn_rollout(dataset, config.env_kwargs)
        reward_funcs = reward_funcs or [episode_reward]
    rewards = reward_funcs if reward_funcs is not None else [EnvReward(config.env_kwargs)]
    server_rollout = None
    if config.rollouts == "vllm":   # (a multi-turn env with --rollouts vllm was refused by preflight)
        if rollout_func is not None:
            raise ValueError("--rollouts vllm brings its own rollout_func: do not pass another")
        if state.num_processes > 1:
            # every rank would publish its own copy of the adapter and sample its own share: not supported yet
            raise ValueError(f"--rollouts vllm trains in one process (this launch has {state.num_processes}); "
                             "scale rollouts with more servers behind one URL, or use TRL's --vllm server")
        server_rollout = rollout_func = _server_rollout(config, out)
    try:  # from here on a server started for this run (--vllm-url auto) is stopped whatever happens
        optimizers = (setup.optimizer_factory(setup.model), None) if setup.optimizer_factory else (None, None)
        # A curriculum may bring its own RLVRGRPOTrainer subclass (e.g. variable group sizes in agents/grpo/gdro.py).
        trainer_cls = getattr(run.curriculum, "trainer_class", None) or trainer_class()
        extra = {"rollout_func": rollout_func} if rollout_func is not None else {}
        trainer = trainer_cls(model=setup.model, reward_funcs=rewards, args=args, train_dataset=dataset,
                              processing_class=tokenizer, peft_config=setup.peft_config, optimizers=optimizers,
                              callbacks=[*setup.callbacks, *_callbacks(run), *extra_callbacks],
                              curriculum=run.curriculum, **extra)
        if server_rollout is not None:
            from rlvr_gym.agents.grpo.vllm_rollouts import attach

            attach(trainer, server_rollout)
            notes.append(f"rollouts: vLLM server {server_rollout.client.url}, the adapter hot-swapped in after every "
                         f"step (folders under {server_rollout.publisher.swap.root})")
        if config.progress:
            from transformers.trainer_callback import PrinterCallback, ProgressCallback

            trainer.remove_callback(PrinterCallback)
            trainer.remove_callback(ProgressCallback)
        run.model = trainer.accelerator.unwrap_model(trainer.model)
        trainable, total = trainable_parameters(run.model)
        notes.append(f"{config.peft}: {trainable:,} of {total:,} parameters train")

        run.training_started = True
        trainer.train(resume_from_checkpoint=str(resume_from) if resume_from is not None else None)
    finally:
        if server_rollout is not None:
            server_rollout.close()   # unload the last adapter version; stop a server started for this run
    rollout_stats = {}
    if server_rollout is not None:
        rollout_stats = {"server": server_rollout.client.url, "sample_s": list(server_rollout.seconds),
                         "publish_s": list(server_rollout.publisher.seconds),
                         "published": [name for _, name in server_rollout.publisher.events]}
    run.model = trainer.accelerator.unwrap_model(trainer.model)
    trainer.save_model(str(out / "final"))

    eval_after = None
    if config.eval_after and config.eval_size:
        eval_after = run.evaluate_heldout("eval_after", int(trainer.state.global_step))
        if run.is_main and eval_after is not None:
            (out / "eval_after.json").write_text(json.dumps(eval_after, indent=2), encoding="utf-8")
    state.wait_for_everyone()
    if run.is_main and config.plots:
        from rlvr_gym.agents.grpo.plots import plot_run

        plot_run(out)
    result = RunResult(out=out, steps=int(trainer.state.global_step), eval_before=eval_before, eval_after=eval_after,
                       metrics=read_jsonl(out / "metrics.jsonl"), seconds=time.perf_counter() - started, notes=notes,
                       resumed_from=str(resume_from) if resume_from is not None else None,
                       train_summary=dict(run.train_summary), rollout_stats=rollout_stats)
    if run.is_main:
        (out / "result.json").write_text(json.dumps(result.to_dict(), indent=2), encoding="utf-8")
    for func in rewards:
        if hasattr(func, "close"):
            func.close()
    return result
