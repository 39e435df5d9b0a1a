"""Causal-LM pretraining with Late-to-Early Training (LET), plain pretraining and reverse distillation (RKD).

One config dataclass (``PretrainConfig``: YAML- and CLI-settable) and one trainer function (``train``) that
reads top to bottom:

    corpus -> tokenizer -> packed blocks -> target model (+ frozen teacher, projections) -> optimizer
    -> for each step: lambda(s); micro-batches: NLL (+ lambda * alignment | KD); clip; step; log; eval; save
    -> final model + tokenizer (a Hugging Face directory), metrics.jsonl, summary.json, loss_curves.png

Methods (``method``):
  baseline  L = NLL
  let       L = NLL + lambda(s) * L_align(P(h_M^(k)), h_T^(last))     (agents/pretrain/alignment.py)
  rkd       L = NLL + lambda(s) * T^2 * KL(softmax(z_T/T) || softmax(z_M/T))  (small teacher's logits)
with lambda(s) = lambda_0 * max(0, (S_stop - s)/S_stop); from S_stop on the teacher is released (freed).

Step numbering: ``step`` s in metrics.jsonl is the 0-based index of the optimizer update, made with
lambda(s); a checkpoint "step-N" holds the state after N updates and a resumed run continues at s = N.

Python API:
    from rlvr_gym.agents.pretrain.trainer import PretrainConfig, train
    summary = train(PretrainConfig(output_dir="runs/t", method="let", teacher="runs/small/final"))
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlvr_gym.agents.training.options import option
from rlvr_gym.agents.training.schedules import warmup_cosine

METHODS = ("baseline", "let", "rkd")
_METHOD, _DATA, _MODEL, _OPTIM, _RUNTIME, _RUN = ("method and teacher", "data", "target model", "optimisation",
                                                  "hardware", "run folder")


@dataclass
class PretrainConfig:
    """Every setting of a pretraining run. Unconfirmed parts of LET (k, S_stop, the loss, the pairing) are
    settings, with the paper's reported or summarized values as defaults."""

    output_dir: str = option("runs/pretrain", "run folder: metrics.jsonl, checkpoints, final/, summary.json",
                             section=_RUN, flag="--out", aliases=("--output-dir",), metavar="DIR")
    method: str = option("let", "baseline (NLL) | let (Late-to-Early alignment) | rkd (reverse KD)", section=_METHOD,
                         choices=METHODS)

    # Data
    corpus: str = option("envs", "envs | synthetic | PATH.txt | PATH.jsonl | DIR | hf:NAME[:CONFIG]", section=_DATA)
    corpus_docs: int = option(20000, "size of generated corpora; a cap on loaded ones (0 = no cap)", section=_DATA)
    corpus_seed: int = option(0, "seed of generated corpora and of the train/val split", section=_DATA)
    text_field: str = option("text", "the text field of JSONL / HF corpora", section=_DATA)
    corpus_split: str = option("train", "the split of an HF corpus", section=_DATA)
    val_fraction: float = option(0.02, "share of documents held out for the eval NLL", section=_DATA)
    tokenizer: str = option("auto", "auto (the teacher's if it has one, else smollm2) | smollm2 | bpe:N | PATH",
                            section=_DATA)
    seq_len: int = option(128, "tokens per packed training sequence", section=_DATA)

    # Target model: a Llama built from these numbers, or any HF causal-LM config (dir or config.json)
    model_config: str | None = option(None, "an HF causal-LM config (dir or config.json) instead of the numbers below",
                                      section=_MODEL)
    n_layers: int = option(4, "layers of the target model", section=_MODEL)
    hidden_size: int = option(128, "hidden width of the target model", section=_MODEL)
    n_heads: int = option(4, "attention heads", section=_MODEL)
    n_kv_heads: int | None = option(None, "key/value heads (default: n_heads)", section=_MODEL)
    intermediate_size: int | None = option(None, "MLP width (default: about 8/3 * hidden_size, a multiple of 32)",
                                           section=_MODEL)
    tie_embeddings: bool = option(False, "tie the input and output embeddings", section=_MODEL)

    # Teacher and LET
    teacher: str | None = option(None, "frozen teacher: an HF model directory (e.g. an earlier run's final/) or "
                                       "smollm2-135m", section=_METHOD)
    lambda_0: float = option(0.1, "initial alignment weight (the paper's best among 0.01, 0.1, 0.3, 1, 3)",
                             section=_METHOD)
    s_stop: int = option(1500, "the alignment weight decays linearly to 0 at this step; the teacher is then released "
                               "[unconfirmed: 1500 or 3000 in the paper]", section=_METHOD)
    align_loss: str = option("neg_cosine", "neg_cosine | mse | logsum [unconfirmed variant]", section=_METHOD)
    align_layer: int = option(3, "k, the target's early layer (1-based) [unconfirmed: layer 3]", section=_METHOD)
    pairing: str = option("late-to-early", "late-to-early | late-to-middle | late-to-late | middle-to-early | ... | "
                                           "T:M[,T:M]", section=_METHOD)
    projection: str = option("auto", "auto (linear when widths differ) | linear | none", section=_METHOD)
    kd_temperature: float = option(1.0, "softmax temperature of the rkd loss", section=_METHOD)

    # Optimisation (batch_size counts sequences per optimizer step, over all micro-batches and processes)
    max_steps: int = option(1000, "optimizer steps", section=_OPTIM)
    batch_size: int = option(16, "sequences per optimizer step (all micro-batches and processes)", section=_OPTIM)
    grad_accum: int = option(1, "micro-batches per optimizer step", section=_OPTIM)
    lr: float = option(1e-3, "peak learning rate", section=_OPTIM, flag="--learning-rate", aliases=("--lr",),
                       metavar="LR")
    min_lr_ratio: float = option(0.1, "the cosine decays to this share of the peak", section=_OPTIM)
    warmup_steps: int = option(50, "linear warm-up steps", section=_OPTIM)
    weight_decay: float = option(0.1, "AdamW weight decay", section=_OPTIM)
    adam_beta1: float = option(0.9, "AdamW beta1", section=_OPTIM)
    adam_beta2: float = option(0.95, "AdamW beta2", section=_OPTIM)
    max_grad_norm: float = option(1.0, "gradient clipping norm", section=_OPTIM)
    seed: int = option(0, "seed of the model init and the data order", section=_OPTIM)

    # Runtime
    device: str = option("auto", "auto | cpu | cuda", section=_RUNTIME)
    mixed_precision: str = option("no", "no | bf16 | fp16 (GPU)", section=_RUNTIME)
    threads: int = option(1, "torch threads on CPU (0 = torch's default); 1 is much faster for small models on small "
                             "VMs", section=_RUNTIME)
    log_every: int = option(1, "log every N steps", section=_RUN)
    eval_every: int = option(50, "eval NLL every N steps (0 = only at the end)", section=_RUN)
    eval_batches: int = option(8, "batches of the held-out documents per evaluation", section=_RUN)
    checkpoint_every: int = option(0, "checkpoint every N steps (0 = no intermediate checkpoints)", section=_RUN)
    keep_checkpoints: int = option(2, "checkpoints kept", section=_RUN)
    resume: str | None = option(None, "continue the run in --out from its latest checkpoint (if it has one); a "
                                      "checkpoint directory may follow instead", section=_RUN, const="auto",
                                metavar="CHECKPOINT_DIR")
    stop_at: int = option(0, "stop (with a checkpoint) after this many steps; schedules still follow max_steps",
                          section=_RUN)
    save_final: bool = option(True, "save the final model and tokenizer to final/", section=_RUN)
    plot: bool = option(True, "write loss_curves.png", section=_RUN)
    progress: bool = option(True, "a progress bar", section=_RUN)

    # ---------------------------------------------------------------------------------------------------------
    def validate(self) -> "PretrainConfig":
        if self.resume is True:      # YAML `resume: true`, Python resume=True: the --resume flag
            self.resume = "auto"
        elif self.resume is False:
            self.resume = None
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.method != "baseline" and not self.teacher:
            raise ValueError(f"method {self.method!r} needs a teacher (a model directory or smollm2-135m)")
        positive = ["seq_len", "n_layers", "hidden_size", "n_heads", "max_steps", "batch_size", "grad_accum",
                    "log_every", "eval_batches"]
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("eval_every", "checkpoint_every", "warmup_steps", "s_stop", "threads", "corpus_docs", "stop_at"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
        if self.batch_size % self.grad_accum:
            raise ValueError(f"batch_size ({self.batch_size}) must be divisible by grad_accum ({self.grad_accum})")
        if self.model_config is None and self.hidden_size % self.n_heads:
            raise ValueError(f"hidden_size ({self.hidden_size}) must be divisible by n_heads ({self.n_heads})")
        if self.lambda_0 < 0:
            raise ValueError(f"lambda_0 must be >= 0, got {self.lambda_0}")
        if self.projection not in ("auto", "linear", "none"):
            raise ValueError(f"projection must be auto, linear or none, got {self.projection!r}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be auto, cpu or cuda, got {self.device!r}")
        if self.mixed_precision not in ("no", "bf16", "fp16"):
            raise ValueError(f"mixed_precision must be no, bf16 or fp16, got {self.mixed_precision!r}")
        if not 0.0 <= self.min_lr_ratio <= 1.0:
            raise ValueError(f"min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")
        if self.kd_temperature <= 0:
            raise ValueError(f"kd_temperature must be > 0, got {self.kd_temperature}")
        from rlvr_gym.agents.pretrain.alignment import get_alignment_loss  # noqa: PLC0415 (light)

        get_alignment_loss(self.align_loss)
        return self

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    # the names `rlvr train` configs use, accepted in YAML and Python too (one grammar): train name -> field
    SYNONYMS = {"out": "output_dir", "learning_rate": "lr"}

    @classmethod
    def _canonical(cls, values: dict[str, Any]) -> dict[str, Any]:
        values = dict(values)
        for synonym, name in cls.SYNONYMS.items():
            if synonym in values:
                if name in values and values[name] != values[synonym]:
                    raise ValueError(f"both {synonym!r} and {name!r} are set (to {values[synonym]!r} and "
                                     f"{values[name]!r}); they are the same setting")
                values[name] = values.pop(synonym)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "PretrainConfig":
        values = cls._canonical(values)
        unknown = sorted(set(values) - set(cls.field_names()))
        if unknown:
            raise ValueError(f"unknown pretrain settings: {unknown}; known: {cls.field_names()}")
        return cls(**values)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike, **overrides: Any) -> "PretrainConfig":
        import yaml  # noqa: PLC0415

        with open(path, encoding="utf-8") as fh:
            values = yaml.safe_load(fh) or {}
        if not isinstance(values, dict):
            raise ValueError(f"{path}: expected a mapping of settings at the top level")
        values = cls._canonical(values)
        values.update(overrides)
        return cls.from_dict(values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# ---------------------------------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------------------------------


def build_model(cfg: PretrainConfig, vocab_size: int, eos_token_id: int | None = None):
    """The target model, freshly initialised (seeded by the caller): Llama from cfg's numbers, or from
    ``cfg.model_config`` (an HF config directory or config.json) with its vocab_size set to the tokenizer's."""
    from transformers import AutoConfig, AutoModelForCausalLM, LlamaConfig  # noqa: PLC0415

    if cfg.model_config:
        path = Path(cfg.model_config)
        if path.is_file():
            values = json.loads(path.read_text(encoding="utf-8"))
            model_type = values.pop("model_type", None)
            if model_type is None:
                raise ValueError(f"{path}: a config.json needs a model_type")
            config = AutoConfig.for_model(model_type, **values)
        else:
            config = AutoConfig.from_pretrained(cfg.model_config)
        config.vocab_size = vocab_size
        config.quantization_config = None
    else:
        inter = cfg.intermediate_size or int(math.ceil(cfg.hidden_size * 8 / 3 / 32) * 32)
        config = LlamaConfig(vocab_size=vocab_size, hidden_size=cfg.hidden_size, intermediate_size=inter,
                             num_hidden_layers=cfg.n_layers, num_attention_heads=cfg.n_heads,
                             num_key_value_heads=cfg.n_kv_heads or cfg.n_heads, max_position_embeddings=cfg.seq_len,
                             tie_word_embeddings=cfg.tie_embeddings, bos_token_id=eos_token_id,
                             eos_token_id=eos_token_id, pad_token_id=eos_token_id)
    return AutoModelForCausalLM.from_config(config)


def load_teacher(spec: str):
    """A frozen causal LM in eval mode. ``spec``: an HF model directory, a PEFT adapter directory (merged into its
    base model), or a name agents.models resolves."""
    from transformers import AutoModelForCausalLM  # noqa: PLC0415

    from rlvr_gym.agents.lm.models import adapter_ref, load_model  # noqa: PLC0415

    model = None
    if adapter_ref(spec) is not None:
        model, _, _ = load_model(spec, "cpu", "float32", merge=True)
    elif not Path(spec).is_dir():
        try:
            from rlvr_gym.agents.lm.models import resolve_model  # noqa: PLC0415 (helper model-agents)
        except ImportError:
            raise ValueError(f"teacher {spec!r} is not a model directory (and agents.models is unavailable "
                             f"to resolve names)") from None
        resolved = resolve_model(spec)
        resolved = resolved[0] if isinstance(resolved, tuple) else resolved
        if hasattr(resolved, "config") and hasattr(resolved, "forward"):
            model = resolved
        else:
            spec = str(resolved)
    if model is None:
        from rlvr_gym.envs.loading import quiet_loading  # noqa: PLC0415

        with quiet_loading():
            model = AutoModelForCausalLM.from_pretrained(spec)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def _hidden_size(model) -> int:
    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    return int(config.hidden_size)


def _num_layers(model) -> int:
    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    return int(config.num_hidden_layers)


def kd_loss(student_logits, teacher_logits, temperature: float):
    """T^2 * KL(teacher || student) per token over the shared vocabulary (forward KD from the small model)."""
    import torch.nn.functional as F  # noqa: PLC0415

    vocab = min(student_logits.shape[-1], teacher_logits.shape[-1])
    s = F.log_softmax(student_logits[..., :vocab].float() / temperature, dim=-1)
    t = F.log_softmax(teacher_logits[..., :vocab].float() / temperature, dim=-1)
    kl = (t.exp() * (t - s)).sum(-1).mean()
    return kl * temperature**2


def _rng_state() -> dict[str, Any]:
    import numpy as np  # noqa: PLC0415
    import torch  # noqa: PLC0415

    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    import numpy as np  # noqa: PLC0415
    import torch  # noqa: PLC0415

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def latest_checkpoint(output_dir: str | os.PathLike) -> Path | None:
    folder = Path(output_dir) / "checkpoints"
    found = sorted(folder.glob("step-*/trainer_state.pt")) if folder.is_dir() else []
    return found[-1].parent if found else None


def _truncate_metrics(path: Path, first_step: int) -> None:
    """Drop metric lines from steps a resumed run will redo."""
    if not path.exists():
        return
    kept = [line for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and json.loads(line).get("step", 0) < first_step]
    path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")


def read_metrics(path: str | os.PathLike) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def plot_metrics(metrics_path: str | os.PathLike, png_path: str | os.PathLike, title: str = "") -> Path:
    """Loss curves: train NLL (raw and smoothed) and eval NLL; lambda and the alignment loss below."""
    from rlvr_gym.agents.training.plots import pyplot, save_figure  # noqa: PLC0415

    plt = pyplot()
    rows = read_metrics(metrics_path)
    steps = [r["step"] for r in rows]
    nll = [r["loss/nll"] for r in rows]
    smooth, acc = [], 0.0
    for i, value in enumerate(nll, 1):
        acc = 0.95 * acc + 0.05 * value
        smooth.append(acc / (1 - 0.95**i))  # bias-corrected, so the start does not lag
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True, height_ratios=[3, 1])
    top.plot(steps, nll, alpha=0.25, color="tab:blue", label="train NLL")
    top.plot(steps, smooth, color="tab:blue", label="train NLL (EMA 0.95)")
    evals = [(r["step"], r["eval/nll"]) for r in rows if r.get("eval/nll") is not None]
    if evals:
        top.plot(*zip(*evals), "o-", color="tab:orange", label="eval NLL")
    top.set_ylabel("nats / token")
    top.legend()
    top.set_title(title or str(Path(metrics_path).parent.name))
    bottom.plot(steps, [r.get("let/lambda", 0.0) for r in rows], color="tab:green", label="lambda")
    aligned = [(r["step"], r["let/align_loss"]) for r in rows if r.get("let/align_loss") is not None]
    if aligned:
        bottom.plot(*zip(*aligned), color="tab:red", alpha=0.6, label="align loss")
    bottom.set_xlabel("step")
    bottom.legend()
    return save_figure(fig, png_path)


class _Progress:
    """The progress display (agents/evaluation/progress.py: a bar on a terminal, plain lines in a log) with the
    latest metrics, or nothing."""

    def __init__(self, enabled: bool, total: int, start: int):
        self.bar = None
        if enabled:
            from rlvr_gym.agents.evaluation.progress import progress_bar  # noqa: PLC0415

            self.bar = progress_bar()
            self.task = self.bar.add_task("pretrain", total=total, completed=start, status="")
            self.bar.start()

    def update(self, step: int, row: dict[str, Any]) -> None:
        if self.bar is None:
            return
        info = f"nll {row['loss/nll']:.3f}  lambda {row['let/lambda']:.3g}  {row['tokens_per_s']:.0f} tok/s"
        if row.get("eval/nll") is not None:
            info += f"  eval {row['eval/nll']:.3f}"
        self.bar.update(self.task, completed=step + 1, status=info)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


# ---------------------------------------------------------------------------------------------------------------
# The trainer
# ---------------------------------------------------------------------------------------------------------------


def train(cfg: PretrainConfig) -> dict[str, Any]:
    """Run (or resume) a pretraining run; returns the summary also written to ``output_dir/summary.json``."""
    cfg.validate()
    import torch  # noqa: PLC0415
    from accelerate import Accelerator  # noqa: PLC0415

    from rlvr_gym.agents.pretrain import corpus as corpus_mod  # noqa: PLC0415
    from rlvr_gym.agents.pretrain.alignment import get_alignment_loss, lambda_schedule, resolve_pairing  # noqa: PLC0415

    # -- runtime ---------------------------------------------------------------------------------------------
    use_cpu = cfg.device == "cpu" or (cfg.device == "auto" and not torch.cuda.is_available())
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' but no CUDA device is visible")
    if use_cpu and cfg.threads > 0:
        torch.set_num_threads(cfg.threads)  # 1 thread is much faster for small models on small VMs
    accelerator = Accelerator(cpu=use_cpu, mixed_precision="no" if use_cpu else cfg.mixed_precision)
    world, rank = accelerator.num_processes, accelerator.process_index
    if cfg.batch_size % (cfg.grad_accum * world):
        raise ValueError(f"batch_size ({cfg.batch_size}) must be divisible by grad_accum x processes "
                         f"({cfg.grad_accum} x {world})")
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    metrics_path = out / "metrics.jsonl"
    resume_dir = None
    if cfg.resume == "auto":
        resume_dir = latest_checkpoint(out)
    elif cfg.resume:
        resume_dir = Path(cfg.resume)
        if not (resume_dir / "trainer_state.pt").exists():
            raise ValueError(f"resume={cfg.resume!r} is not a checkpoint directory (no trainer_state.pt)")
    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)

    # -- data ------------------------------------------------------------------------------------------------
    docs = corpus_mod.load_documents(cfg.corpus, n_docs=cfg.corpus_docs, seed=cfg.corpus_seed,
                                     text_field=cfg.text_field, split=cfg.corpus_split)
    train_docs, val_docs = corpus_mod.split_documents(docs, cfg.val_fraction, seed=cfg.corpus_seed)
    tok_spec = cfg.tokenizer
    if (out / "tokenizer" / "tokenizer_config.json").exists() and resume_dir is not None:
        tok_spec = str(out / "tokenizer")  # a resumed run keeps the tokenizer it started with
    elif tok_spec == "auto":
        teacher_tok = cfg.teacher and Path(cfg.teacher, "tokenizer_config.json").exists()
        tok_spec = cfg.teacher if teacher_tok else "smollm2"
    tokenizer = corpus_mod.load_tokenizer(tok_spec, train_docs)
    if accelerator.is_main_process:
        tokenizer.save_pretrained(out / "tokenizer")
    train_blocks = corpus_mod.pack_documents(train_docs, tokenizer, cfg.seq_len, seed=cfg.seed)
    val_blocks = corpus_mod.pack_documents(val_docs, tokenizer, cfg.seq_len, seed=cfg.seed) if val_docs else None

    # -- models ----------------------------------------------------------------------------------------------
    model = build_model(cfg, vocab_size=len(tokenizer), eos_token_id=tokenizer.eos_token_id)
    teacher, projections, pairs = None, torch.nn.ModuleList(), []
    if cfg.method != "baseline":
        teacher = load_teacher(cfg.teacher)
        if teacher.config.vocab_size < len(tokenizer):
            raise ValueError(f"the teacher's vocabulary ({teacher.config.vocab_size}) is smaller than the "
                             f"tokenizer's ({len(tokenizer)}): teacher and target must share a tokenizer")
        if Path(cfg.teacher, "tokenizer_config.json").exists() and tok_spec != cfg.teacher:
            from transformers import AutoTokenizer  # noqa: PLC0415

            if AutoTokenizer.from_pretrained(cfg.teacher).get_vocab() != tokenizer.get_vocab():
                raise ValueError("the teacher's tokenizer differs from the target's: LET and RKD need one "
                                 "tokenizer (leave tokenizer=auto to use the teacher's)")
        if cfg.method == "let":
            pairs = resolve_pairing(cfg.pairing, _num_layers(teacher), _num_layers(model), cfg.align_layer)
            d_m, d_t = _hidden_size(model), _hidden_size(teacher)
            for _ in pairs:
                if cfg.projection == "none" or (cfg.projection == "auto" and d_m == d_t):
                    if d_m != d_t:
                        raise ValueError(f"projection='none' needs equal widths, got target {d_m} vs teacher {d_t}")
                    projections.append(torch.nn.Identity())
                else:
                    projections.append(torch.nn.Linear(d_m, d_t, bias=False))
        teacher.to(accelerator.device)
    align_fn = get_alignment_loss(cfg.align_loss)
    n_params = sum(p.numel() for p in model.parameters())
    n_teacher = sum(p.numel() for p in teacher.parameters()) if teacher is not None else 0

    # -- optimizer: no weight decay on 1-d parameters (norm weights, biases) ------------------------------------
    named = list(model.named_parameters()) + [(f"proj.{n}", p) for n, p in projections.named_parameters()]
    decay = [p for n, p in named if p.dim() >= 2]
    no_decay = [p for n, p in named if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=cfg.lr, betas=(cfg.adam_beta1, cfg.adam_beta2))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: warmup_cosine(s, cfg.warmup_steps, cfg.max_steps, cfg.min_lr_ratio))
    if any(True for _ in projections.parameters()):
        model, projections, optimizer = accelerator.prepare(model, projections, optimizer)
    else:  # nothing to train in an identity / empty projection (DDP refuses modules without parameters)
        model, optimizer = accelerator.prepare(model, optimizer)
        projections.to(accelerator.device)

    # -- resume ------------------------------------------------------------------------------------------------
    start_step, tokens_seen, elapsed_before = 0, 0, 0.0
    if resume_dir is not None:
        state = torch.load(resume_dir / "trainer_state.pt", map_location="cpu", weights_only=False)
        accelerator.unwrap_model(model).load_state_dict(state["model"])
        accelerator.unwrap_model(projections).load_state_dict(state["projections"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start_step, tokens_seen = state["step"], state["tokens_seen"]
        elapsed_before = state.get("elapsed_s", 0.0)
        _set_rng_state(state["rng"])
        if accelerator.is_main_process:
            _truncate_metrics(metrics_path, start_step)
    elif accelerator.is_main_process:
        metrics_path.write_text("", encoding="utf-8")
        (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2), encoding="utf-8")
    if teacher is not None and start_step >= cfg.s_stop:
        teacher = None  # resumed after S_stop: alignment is over, free the teacher at once

    def evaluate() -> float | None:
        if val_blocks is None:
            return None
        model.eval()
        n = min(len(val_blocks), cfg.eval_batches * cfg.batch_size)
        total, count = 0.0, 0
        with torch.no_grad():
            for i in range(0, n, cfg.batch_size):
                ids = val_blocks.blocks[i:i + cfg.batch_size].to(accelerator.device)
                with accelerator.autocast():
                    loss = model(input_ids=ids, labels=ids).loss
                total += float(loss) * ids.shape[0]
                count += ids.shape[0]
        model.train()
        return total / count

    def save_checkpoint(step: int) -> None:
        if not accelerator.is_main_process:
            return
        folder = out / "checkpoints" / f"step-{step:07d}"
        folder.mkdir(parents=True, exist_ok=True)
        torch.save({"model": accelerator.unwrap_model(model).state_dict(),
                    "projections": accelerator.unwrap_model(projections).state_dict(),
                    "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                    "step": step, "tokens_seen": tokens_seen, "rng": _rng_state(),
                    "elapsed_s": elapsed_before + time.perf_counter() - t_start,
                    "data": {"rows_consumed": step * cfg.batch_size, "seed": cfg.seed},
                    "config": cfg.to_dict()}, folder / "trainer_state.pt.tmp")
        os.replace(folder / "trainer_state.pt.tmp", folder / "trainer_state.pt")  # never a half-written file
        old = sorted((out / "checkpoints").glob("step-*"))
        for stale in old[: max(0, len(old) - cfg.keep_checkpoints)]:
            shutil.rmtree(stale, ignore_errors=True)

    # -- the loop ----------------------------------------------------------------------------------------------
    model.train()
    micro = cfg.batch_size // (cfg.grad_accum * world)
    progress = _Progress(cfg.progress and accelerator.is_main_process, cfg.max_steps, start_step)
    t_start = time.perf_counter()
    last_eval, stopped_at = None, None
    metrics_file = metrics_path.open("a", encoding="utf-8") if accelerator.is_main_process else None
    try:
        for step in range(start_step, cfg.max_steps):
            t0 = time.perf_counter()
            lam = lambda_schedule(step, cfg.lambda_0, cfg.s_stop) if cfg.method != "baseline" else 0.0
            if teacher is not None and lam == 0.0:
                teacher = None  # release the teacher: alignment is over
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
            rows = train_blocks.batch(step, cfg.batch_size)
            rows = rows[rank::world]  # this process's share of the global batch
            sums = {"nll": 0.0, "align": 0.0, "kd": 0.0}
            for m in range(cfg.grad_accum):
                ids = rows[m * micro:(m + 1) * micro].to(accelerator.device)
                with accelerator.autocast():
                    output = model(input_ids=ids, labels=ids, output_hidden_states=bool(teacher is not None and pairs))
                nll = output.loss
                loss = nll
                if teacher is not None:
                    with torch.no_grad(), accelerator.autocast():
                        t_out = teacher(input_ids=ids, output_hidden_states=bool(pairs))
                    if cfg.method == "let":
                        with accelerator.autocast():  # the projection runs in the model's precision
                            align = sum(align_fn(proj(output.hidden_states[m_layer]), t_out.hidden_states[t_layer])
                                        for proj, (t_layer, m_layer) in zip(projections, pairs)) / len(pairs)
                        loss = loss + lam * align
                        sums["align"] += float(align.detach()) / cfg.grad_accum
                    else:
                        kd = kd_loss(output.logits, t_out.logits, cfg.kd_temperature)
                        loss = loss + lam * kd
                        sums["kd"] += float(kd.detach()) / cfg.grad_accum
                sums["nll"] += float(nll.detach()) / cfg.grad_accum
                accelerator.backward(loss / cfg.grad_accum)
            params = list(model.parameters()) + list(projections.parameters())
            grad_norm = float(accelerator.clip_grad_norm_(params, cfg.max_grad_norm)) if cfg.max_grad_norm > 0 else None
            lr = scheduler.get_last_lr()[0]
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            tokens_seen += cfg.batch_size * cfg.seq_len
            if world > 1:
                reduced = accelerator.reduce(torch.tensor([sums["nll"], sums["align"], sums["kd"]],
                                                          device=accelerator.device), "mean")
                sums = dict(zip(("nll", "align", "kd"), reduced.tolist()))
            dt = time.perf_counter() - t0
            row: dict[str, Any] = {
                "step": step, "loss/nll": sums["nll"],
                "loss/total": sums["nll"] + lam * (sums["align"] if cfg.method == "let" else sums["kd"]),
                "let/lambda": lam,
                "let/align_loss": sums["align"] if (cfg.method == "let" and lam > 0) else None,
                "lr": lr, "grad_norm": grad_norm, "tokens": tokens_seen,
                "epoch": train_blocks.epoch_of(step + 1, cfg.batch_size),
                "step_time_s": dt, "tokens_per_s": cfg.batch_size * cfg.seq_len / dt,
            }
            if cfg.method == "rkd":
                row["rkd/kd_loss"] = sums["kd"] if lam > 0 else None
            is_last = step + 1 == cfg.max_steps
            if (cfg.eval_every and (step + 1) % cfg.eval_every == 0) or is_last:
                last_eval = evaluate()
                row["eval/nll"] = last_eval
            if metrics_file is not None and (step % cfg.log_every == 0 or is_last or "eval/nll" in row):
                metrics_file.write(json.dumps(row) + "\n")
                metrics_file.flush()
            progress.update(step, row)
            if cfg.checkpoint_every and (step + 1) % cfg.checkpoint_every == 0 and not is_last:
                save_checkpoint(step + 1)
            if cfg.stop_at and step + 1 >= cfg.stop_at and not is_last:
                stopped_at = step + 1
                if not (cfg.checkpoint_every and (step + 1) % cfg.checkpoint_every == 0):
                    save_checkpoint(stopped_at)
                break
    finally:
        progress.close()
        if metrics_file is not None:
            metrics_file.close()

    # -- the end: final model, summary, plot ---------------------------------------------------------------------
    elapsed = elapsed_before + time.perf_counter() - t_start
    if cfg.checkpoint_every and stopped_at is None:
        save_checkpoint(cfg.max_steps)
    summary = {
        "method": cfg.method, "steps": stopped_at or cfg.max_steps, "stopped_early": stopped_at is not None,
        "resumed_from": start_step if resume_dir is not None else None, "tokens": tokens_seen,
        "params": n_params, "teacher_params": n_teacher, "final_eval_nll": last_eval, "elapsed_s": elapsed,
        "vocab_size": len(tokenizer), "pairs": pairs, "output_dir": str(out),
        "corpus_report": dict(corpus_mod.corpus_report) if cfg.corpus == "envs" else {},
    }
    if accelerator.is_main_process:
        rows_logged = read_metrics(metrics_path)
        if rows_logged:
            summary["final_train_nll"] = rows_logged[-1]["loss/nll"]
        if cfg.save_final and stopped_at is None:
            final = out / "final"
            accelerator.unwrap_model(model).save_pretrained(final)
            tokenizer.save_pretrained(final)
            summary["final_model"] = str(final)
        if cfg.plot and rows_logged:
            summary["plot"] = str(plot_metrics(metrics_path, out / "loss_curves.png", title=f"{cfg.method}: {out.name}"))
        (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    accelerator.wait_for_everyone()
    return summary
