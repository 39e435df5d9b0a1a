"""``hf:`` agents: a transformers causal LM generating locally, batched, on CPU or GPU.

Spec: ``hf:<local dir | adapter dir | hub name | smollm2-135m | tiny-random>[?key=value&...]``; options (keyword arguments
of ``from_spec`` or spec query) are the ``SamplingParams`` fields (temperature, top_p, max_tokens, stop, seed, n)
plus ``device`` (auto|cpu|cuda|cuda:N|mps), ``dtype`` (auto|float32|bfloat16|float16), ``threads`` (torch CPU
threads), ``batch_size``, ``system`` (a system message), ``chat`` (apply the chat template, default True when the
tokenizer has one), ``merge`` (a PEFT adapter directory, such as a run's ``final/``, is loaded on its base model;
``merge=true`` merges it into the base weights first: faster, the same function up to rounding).

Each observation becomes one user message; the chat template is applied with the generation prompt; prompts
are padded on the left and generated in batches; the text is cut at the first stop string.
"""

from __future__ import annotations

import os
import time
from typing import Any, Sequence

from rlvr_gym.agents.base import Agent, Reply
from rlvr_gym.agents.lm.sampling import SamplingParams, agent_options, split_spec_options, truncate_at_stop

# Measured on the 2-core dev VM (benchmarks/results/threads.md): batched generation with SmolLM2-135M and the tiny
# model is no faster with 2 threads than with 1 when other processes share the cores, and 2 threads
# collapse badly under contention, so one thread is the default. Override with threads= or RLVR_GYM_THREADS.
DEFAULT_CPU_THREADS = 1


def pick_device(device: str = "auto") -> str:
    import torch

    if device != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def set_cpu_threads(threads: int | None) -> int:
    """Set torch's intra-op CPU threads on purpose (process-wide); returns the number set."""
    import torch

    if threads is None:
        env = os.environ.get("RLVR_GYM_THREADS")
        threads = int(env) if env else DEFAULT_CPU_THREADS
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    torch.set_num_threads(threads)
    return threads


class HFAgent(Agent):
    """Generates replies with a transformers causal LM. See the module docstring for options."""

    def __init__(
        self,
        model: str,
        *,
        sampling: SamplingParams | None = None,
        device: str = "auto",
        dtype: str = "auto",
        threads: int | None = None,
        batch_size: int = 8,
        system: str | None = None,
        chat: bool | None = None,
        merge: bool = False,
    ):
        from rlvr_gym.agents.lm.models import load_model

        if not isinstance(merge, bool):
            raise ValueError(f"merge must be true or false, got {merge!r}")
        device = pick_device(device)
        threads = set_cpu_threads(threads) if device == "cpu" else None
        loaded, tokenizer, _ = load_model(model, device, dtype, merge=merge)
        self._setup(loaded, tokenizer, name=str(model), sampling=sampling, device=device, batch_size=batch_size,
                    system=system, chat=chat)
        self.threads = threads

    @classmethod
    def from_loaded(cls, model, tokenizer, *, name: str = "in-process", sampling: SamplingParams | None = None,
                    device: str = "cpu", batch_size: int = 8, system: str | None = None,
                    chat: bool | None = None) -> "HFAgent":
        """An agent around a model already in memory (e.g. the one a trainer is training; greedy by default would
        be ``SamplingParams(temperature=0.0)``). Thread settings are left to the caller."""
        agent = cls.__new__(cls)
        agent._setup(model, tokenizer, name=name, sampling=sampling, device=device, batch_size=batch_size,
                     system=system, chat=chat)
        agent.threads = None
        return agent

    def _setup(self, model, tokenizer, *, name, sampling, device, batch_size, system, chat) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        self.sampling = sampling or SamplingParams()
        self.device = device
        self.batch_size = batch_size
        self.system = system
        self.model_name = name
        self.name = f"hf:{name}"
        self.tokenizer = tokenizer
        self.model = model
        has_template = bool(getattr(tokenizer, "chat_template", None))
        if chat and not has_template:
            raise ValueError(f"chat=True but the tokenizer of {name} has no chat template")
        self.chat = has_template if chat is None else bool(chat)
        self._calls = 0

    # -- prompts -------------------------------------------------------------------------------------------
    def format_prompt(self, observation: str) -> str:
        """The exact text the model sees for one observation (chat template applied when enabled)."""
        if not isinstance(observation, str):
            raise TypeError(f"observations must be strings, got {type(observation).__name__}")
        if not self.chat:
            return observation if self.system is None else f"{self.system}\n\n{observation}"
        messages = [{"role": "user", "content": observation}]
        if self.system is not None:
            messages.insert(0, {"role": "system", "content": self.system})
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    # -- generation ----------------------------------------------------------------------------------------
    def generate(self, prompts: Sequence[str], sampling: SamplingParams | None = None, *,
                 max_time_s: float | None = None) -> list[list[Reply]]:
        """``sampling.n`` completions for each already-formatted prompt text. ``max_time_s``: each batch's
        generation stops after this many seconds (transformers' ``max_time``; those replies end "length")."""
        import torch

        params = sampling or self.sampling
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))  # similar lengths share a batch
        results: list[list[Reply] | None] = [None] * len(prompts)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            batch = [prompts[i] for i in idx]
            for i, replies in zip(idx, self._generate_batch(batch, params, torch, max_time_s)):
                results[i] = replies
        return results  # type: ignore[return-value]

    def _generate_batch(self, prompts: list[str], params: SamplingParams, torch,
                        max_time_s: float | None = None) -> list[list[Reply]]:
        tok = self.tokenizer
        # The chat template already holds the special tokens; plain prompts get the tokenizer's defaults.
        # Batched generation pads on the left (the tokenizer may be shared with a trainer that pads its own way).
        enc = tok(prompts, return_tensors="pt", padding=True, padding_side="left",
                  add_special_tokens=not self.chat).to(self.device)
        kwargs: dict[str, Any] = dict(
            max_new_tokens=params.max_tokens,
            pad_token_id=tok.pad_token_id,
            eos_token_id=tok.eos_token_id,
            num_return_sequences=params.n if not params.greedy else 1,
        )
        if params.greedy:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        else:
            kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p, top_k=0)
        if params.stop:
            kwargs.update(stop_strings=list(params.stop), tokenizer=tok)
        if max_time_s is not None:
            kwargs["max_time"] = float(max_time_s)
        self._calls += 1
        started = time.perf_counter()
        # fork_rng: seeding here must not move the caller's global RNG (CUDA generators included on a GPU).
        cuda = [torch.device(self.device).index or 0] if self.device.startswith("cuda") else []
        with torch.inference_mode(), torch.random.fork_rng(devices=cuda):
            if params.seed is not None:
                torch.manual_seed(params.seed * 1_000_003 + self._calls)
            out = self.model.generate(**enc, **kwargs)
        latency = time.perf_counter() - started
        prompt_len = enc["input_ids"].shape[1]
        prompt_counts = enc["attention_mask"].sum(dim=1).tolist()
        per_prompt = kwargs["num_return_sequences"]
        generated = out[:, prompt_len:].tolist()
        replies: list[list[Reply]] = []
        for b in range(len(prompts)):
            samples = []
            for k in range(per_prompt):
                ids = generated[b * per_prompt + k]
                samples.append(self._reply(ids, prompt_counts[b], params, latency, len(prompts)))
            if per_prompt < params.n:  # greedy: every sample is the same
                samples = samples * params.n
            replies.append(samples)
        return replies

    def _reply(self, ids: list[int], prompt_tokens: int, params: SamplingParams, latency: float, batch: int) -> Reply:
        eos = self.tokenizer.eos_token_id
        pad = self.tokenizer.pad_token_id
        end = len(ids)
        finish = "length"
        for j, t in enumerate(ids):
            if t == eos or t == pad:
                end, finish = j, "stop"
                break
        text = self.tokenizer.decode(ids[:end], skip_special_tokens=True)
        text, hit = truncate_at_stop(text, params.stop)
        # Tokens the model produced: up to the end-of-turn token, which counts when it was really generated
        # (a sequence stopped by a stop string is padded afterwards with the same id).
        completion_tokens = end + (1 if finish == "stop" and hit is None else 0)
        if hit is not None:
            finish = "stop"
        return Reply(
            text=text,
            prompt_tokens=int(prompt_tokens),
            completion_tokens=int(min(completion_tokens, len(ids))),
            latency_s=latency,
            extra={"finish_reason": finish, "batch_size": batch},
        )

    # -- Agent protocol ------------------------------------------------------------------------------------
    def reply_batch(self, observations: Sequence[str], infos: Sequence[dict] | None = None) -> list[Reply]:
        prompts = [self.format_prompt(o) for o in observations]
        replies = []
        for samples in self.generate(prompts):
            first = samples[0]
            if len(samples) > 1:
                first.extra["samples"] = [s.text for s in samples]
            replies.append(first)
        return replies

    def act_batch(self, observations: Sequence[str], infos: Sequence[dict] | None = None) -> list[str]:
        return [r.text for r in self.reply_batch(observations, infos)]

    def close(self) -> None:
        self.model = None


_AGENT_OPTIONS = ("device", "dtype", "threads", "batch_size", "system", "chat", "merge")


def from_spec(rest: str, **options: Any) -> HFAgent:
    """``hf:`` spec -> HFAgent. ``rest`` is what follows ``hf:``; options may also follow a ``?`` in it."""
    target, spec_options = split_spec_options(rest)
    if not target:
        raise ValueError("hf: needs a model, e.g. hf:smollm2-135m, hf:tiny-random, hf:/path/to/model, hf:org/name")
    sampling, other = agent_options("hf", options, spec_options, _AGENT_OPTIONS)
    return HFAgent(target, sampling=sampling, **other)
