"""Parameter-efficient fine-tuning presets for GRPO (``rlvr train --peft NAME``): every method of the RLVR
PEFT study (arXiv 2512.23165), on peft's configs.

Presets (``PRESETS``):
  full      no adapter, every weight trains
  lora      LoRA on the attention and MLP projections (never lm_head)
  dora      LoRA with weight decomposition (use_dora)
  rslora    rank-stabilised LoRA scaling alpha/sqrt(r) (use_rslora)
  loraplus  LoRA with the LoRA+ optimizer: B matrices learn ``loraplus_lr_ratio`` (default 2) times faster
  lora-fa   LoRA with the A matrices frozen (only B trains)
  adalora   AdaLoRA; its rank reallocation (update_and_allocate) is called after every optimizer step
  pissa     LoRA initialised from the principal singular components (init_lora_weights="pissa_niter_4")
  milora    LoRA initialised from the MINOR singular components (written here: ``milora_init``)
  vera      VeRA (shared frozen random projections, trained scaling vectors)
  miss      MiSS (peft's MissConfig)
  ia3       (IA)^3 rescaling vectors on k, v and the MLP down projection
  lntuning  only the LayerNorm / RMSNorm weights train

Known traps handled here:
- PiSSA and MiLoRA move the top (or bottom) singular components out of the base weight into the adapter, so
  "adapters off" is no longer the original model: a KL penalty (beta > 0) against TRL's adapters-off reference
  would pull towards the residual. ``prepare_peft`` forces beta = 0 for them and says so (``PeftSetup.notes``).
  For the same reason their LoRA dropout is forced to 0: dropout acts on the adapter's input, and an adapter
  that carries (principal) components of W would then drop part of the weight at every training-mode forward,
  including TRL's generation (seen in the PEFT study: PiSSA's first-step reward was 0.06 with dropout 0.05
  against 0.50 for LoRA, and it never recovered).
- lm_head is never a target: TRL computes log-probs from ``lm_head.weight`` directly.
- AdaLoRA needs its total step count (``total_steps``) and ``update_and_allocate`` each optimizer step (a
  TrainerCallback here; the gradients are still there when ``on_optimizer_step`` runs). Its orthogonality
  regulariser is only added by peft when the forward gets labels, which TRL's GRPO loss does not pass: the
  reallocation runs, the regulariser does not (as with any custom loss).

The study's defaults are r=32, alpha=64, dropout 0.05 on q/k/v/o/gate/up/down; ours default to r=16, alpha=32
for the small CPU models (settable).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["PRESETS", "PeftSetup", "prepare_peft", "default_target_modules", "milora_init", "adalora_callback",
           "trainable_parameters"]

PRESETS: tuple[str, ...] = ("full", "lora", "dora", "rslora", "loraplus", "lora-fa", "adalora", "pissa", "milora",
                            "vera", "miss", "ia3", "lntuning")
# Presets whose initialisation changes the base weights (adapters off != original model).
RESIDUAL_INIT = ("pissa", "milora")
PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass
class PeftSetup:
    """What the trainer needs from a preset.

    model: the model to hand to GRPOTrainer (a PeftModel when the preset wraps it itself, else unchanged);
    peft_config: a peft config for GRPOTrainer(peft_config=...) or None; optimizer_factory: builds the
    optimizer from the (wrapped) model, or None for TRL's default; callbacks: TrainerCallbacks to add;
    beta: the KL coefficient to use (may be forced to 0); notes: what was changed and why.
    """

    name: str
    model: Any
    peft_config: Any = None
    optimizer_factory: Callable[[Any], Any] | None = None
    callbacks: list = field(default_factory=list)
    beta: float = 0.0
    notes: list[str] = field(default_factory=list)


def default_target_modules(model) -> list[str] | str:
    """The attention and MLP projections the model has (Llama/Qwen/Mistral names), else "all-linear"
    (peft's choice of every linear layer except the output head)."""
    import torch

    names = {name.rsplit(".", 1)[-1] for name, module in model.named_modules() if isinstance(module, torch.nn.Linear)}
    found = [p for p in PROJECTIONS if p in names]
    return found or "all-linear"


def _loaded_adapter(model) -> str | None:
    """The peft type of a model loaded as a PeftModel with a trainable adapter (load_model(adapter_dir,
    trainable=True)), else None."""
    configs = getattr(model, "peft_config", None)
    if not isinstance(configs, dict) or not configs:
        return None
    config = next(iter(configs.values()))
    return str(getattr(getattr(config, "peft_type", None), "value", getattr(config, "peft_type", "peft"))).lower()


def _check_targets(targets) -> None:
    if targets is None or isinstance(targets, str) and targets == "all-linear":
        return
    items = [targets] if isinstance(targets, str) else list(targets)
    if not items or not all(isinstance(t, str) and t for t in items):
        raise ValueError(f"target_modules must be a list of module names (e.g. q_proj,v_proj) or 'all-linear', "
                         f"got {targets!r}")
    if any(t == "lm_head" or t.endswith(".lm_head") for t in items):
        raise ValueError("lm_head cannot be a PEFT target: TRL computes log-probs from lm_head.weight directly")


def trainable_parameters(model) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return trainable, total


def prepare_peft(model, name: str, *, r: int = 16, alpha: float | None = None, dropout: float = 0.05,
                 target_modules: list[str] | str | None = None, total_steps: int = 100,
                 learning_rate: float = 1e-5, weight_decay: float = 0.0, beta: float = 0.0,
                 extra: dict | None = None) -> PeftSetup:
    """Set up preset `name` on `model` (see the module docstring). `extra`: further keyword arguments for the
    preset's peft config (e.g. {"loraplus_lr_ratio": 16} for loraplus, {"target_r": 4} for adalora). A model that
    already carries a trainable adapter (``rlvr train --model ADAPTER_DIR``) keeps it and trains it further: the
    preset and its options are not applied (a note says so)."""
    if name not in PRESETS:
        raise ValueError(f"unknown PEFT preset {name!r}; expected one of {', '.join(PRESETS)}")
    adapter = _loaded_adapter(model)
    if adapter is not None:   # `rlvr train --model ADAPTER_DIR`: keep training that adapter
        setup = PeftSetup(name=name, model=model, beta=float(beta))
        setup.notes.append(f"continuing the {adapter} adapter the model was loaded with (--peft {name} and the "
                           "adapter options do not apply)")
        return setup
    if isinstance(r, bool) or not isinstance(r, int) or r < 1:
        raise ValueError(f"lora rank r must be a positive int, got {r!r}")
    alpha = float(2 * r if alpha is None else alpha)
    extra = dict(extra or {})
    setup = PeftSetup(name=name, model=model, beta=float(beta))
    if name == "full":
        if extra:
            raise ValueError(f"peft options {sorted(extra)} make no sense with --peft full")
        return setup
    _check_targets(target_modules)
    targets = target_modules if target_modules is not None else default_target_modules(model)

    import peft

    residual_dropout = name in RESIDUAL_INIT and dropout > 0
    if residual_dropout:   # the adapter holds part of W itself: dropout on its input would perturb the model
        dropout = 0.0
    lora_kwargs = dict(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets, task_type="CAUSAL_LM")
    if name in ("lora", "dora", "rslora", "pissa"):
        flag = {"dora": {"use_dora": True}, "rslora": {"use_rslora": True},
                "pissa": {"init_lora_weights": "pissa_niter_4"}}.get(name, {})
        setup.peft_config = peft.LoraConfig(**{**lora_kwargs, **flag, **extra})
    elif name == "loraplus":
        ratio = float(extra.pop("loraplus_lr_ratio", 2.0))
        wrapped = peft.get_peft_model(model, peft.LoraConfig(**{**lora_kwargs, **extra}))
        setup.model = wrapped

        def make_optimizer(m, _ratio=ratio):
            import torch
            from peft.optimizers import create_loraplus_optimizer

            return create_loraplus_optimizer(model=m, optimizer_cls=torch.optim.AdamW, lr=learning_rate,
                                             loraplus_lr_ratio=_ratio, weight_decay=weight_decay)

        setup.optimizer_factory = make_optimizer
        setup.notes.append(f"LoRA+ optimizer: B matrices at {ratio:g}x the learning rate")
    elif name == "lora-fa":
        wrapped = peft.get_peft_model(model, peft.LoraConfig(**{**lora_kwargs, **extra}))
        frozen = 0
        for pname, param in wrapped.named_parameters():
            if ".lora_A." in pname:
                param.requires_grad_(False)
                frozen += 1
        if frozen == 0:
            raise ValueError("lora-fa found no lora_A matrices to freeze")
        setup.model = wrapped
        setup.notes.append(f"LoRA-FA: {frozen} A matrices frozen at their random init; only B trains")
    elif name == "milora":
        wrapped = peft.get_peft_model(model, peft.LoraConfig(**{**lora_kwargs, **extra}))
        count = milora_init(wrapped)
        setup.model = wrapped
        setup.notes.append(f"MiLoRA: {count} adapters initialised from the {r} minor singular components")
    elif name == "adalora":
        init_r = int(extra.pop("init_r", r))
        target_r = int(extra.pop("target_r", max(1, init_r // 2)))
        tinit = int(extra.pop("tinit", max(0, total_steps // 10)))
        tfinal = int(extra.pop("tfinal", max(0, total_steps // 5)))
        if total_steps - tinit - tfinal < 1:
            tinit, tfinal = 0, 0
        setup.peft_config = peft.AdaLoraConfig(init_r=init_r, target_r=target_r, total_step=int(total_steps),
                                               tinit=tinit, tfinal=tfinal, lora_alpha=alpha, lora_dropout=dropout,
                                               target_modules=targets, task_type="CAUSAL_LM", **extra)
        setup.callbacks.append(adalora_callback())
        setup.notes.append(f"AdaLoRA: init_r={init_r} -> target_r={target_r} over {total_steps} steps; "
                           "update_and_allocate after each optimizer step")
    elif name == "vera":
        setup.peft_config = peft.VeraConfig(r=int(extra.pop("r", r)), target_modules=targets,
                                            vera_dropout=dropout, task_type="CAUSAL_LM", **extra)
    elif name == "miss":
        setup.peft_config = peft.MissConfig(r=int(extra.pop("r", r)), target_modules=targets,
                                            task_type="CAUSAL_LM", **extra)
    elif name == "ia3":
        if target_modules is None and isinstance(targets, list) and {"k_proj", "v_proj", "down_proj"} <= set(targets):
            ia3_targets, feedforward = ["k_proj", "v_proj", "down_proj"], ["down_proj"]
        else:
            ia3_targets, feedforward = targets, extra.pop("feedforward_modules", None)
        setup.peft_config = peft.IA3Config(target_modules=ia3_targets, feedforward_modules=feedforward,
                                           task_type="CAUSAL_LM", **extra)
    elif name == "lntuning":
        setup.peft_config = peft.LNTuningConfig(task_type="CAUSAL_LM", **extra)  # peft's norm names per model type

    if residual_dropout:
        setup.notes.append(f"{name}: lora dropout -> 0 (its adapter carries singular components of W, so dropout "
                           "on the adapter path would randomly drop part of the weight itself in training mode)")
    if name in RESIDUAL_INIT and setup.beta != 0.0:
        setup.notes.append(f"{name}: beta {setup.beta:g} -> 0 (its adapters-off model is the residual, not the "
                           "original, so a KL reference would be wrong)")
        setup.beta = 0.0
    return setup


def milora_init(model, adapter_name: str = "default") -> int:
    """MiLoRA: put the r MINOR singular components of every targeted weight into its LoRA adapter and keep
    the rest as the base weight, so the wrapped model computes exactly the original function at step 0.

    For W = U S V^T (singular values descending) and the last r components U_r S_r V_r^T:
    A = sqrt(S_r) V_r^T / sqrt(s), B = U_r sqrt(S_r) / sqrt(s) with s the adapter's scaling (alpha/r), and
    W <- W - U_r S_r V_r^T. Returns the number of layers initialised."""
    import torch
    from peft.tuners.lora import LoraLayer

    count = 0
    for module in model.modules():
        if not isinstance(module, LoraLayer) or adapter_name not in getattr(module, "lora_A", {}):
            continue
        base = module.get_base_layer()
        weight = base.weight
        if weight.ndim != 2:
            raise ValueError(f"milora supports Linear layers only, got a weight of shape {tuple(weight.shape)}")
        r = module.r[adapter_name]
        scaling = module.scaling[adapter_name]
        with torch.no_grad():
            w = weight.data.to(torch.float32)
            u, s, vh = torch.linalg.svd(w, full_matrices=False)
            r = min(r, s.numel())
            u_r, s_r, vh_r = u[:, -r:], s[-r:], vh[-r:, :]
            root = torch.sqrt(s_r)
            a = (root[:, None] * vh_r) / scaling ** 0.5
            b = (u_r * root[None, :]) / scaling ** 0.5
            module.lora_A[adapter_name].weight.data.copy_(a.to(module.lora_A[adapter_name].weight.dtype))
            module.lora_B[adapter_name].weight.data.copy_(b.to(module.lora_B[adapter_name].weight.dtype))
            weight.data.copy_((w - scaling * (b @ a)).to(weight.dtype))
        count += 1
    if count == 0:
        raise ValueError("milora found no LoRA layers to initialise")
    return count


def adalora_callback():
    """A TrainerCallback calling AdaLoRA's ``update_and_allocate(global_step)`` after every optimizer step (before
    the gradients are zeroed), as peft requires; ``.calls`` counts the calls."""
    from transformers import TrainerCallback

    class AdaLoraCallback(TrainerCallback):
        calls = 0

        def on_optimizer_step(self, args, state, control, model=None, **kwargs):
            target = model
            while hasattr(target, "module") and not hasattr(target, "base_model"):
                target = target.module          # DDP / accelerate wrappers
            tuner = getattr(target, "base_model", None)
            if tuner is None or not hasattr(tuner, "update_and_allocate"):
                raise RuntimeError("the adalora callback needs an AdaLoRA PeftModel")
            tuner.update_and_allocate(state.global_step)
            self.calls += 1

    return AdaLoraCallback()
