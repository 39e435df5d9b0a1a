"""``openai:`` agents: any OpenAI-compatible server (``vllm serve``, ``rlvr serve``, a hosted provider).

Spec: ``openai:<model>@<base_url>[?key=value&...]``, e.g. ``openai:Qwen/Qwen3-0.6B@http://localhost:8000/v1``.
A base URL without a path gets ``/v1`` appended; without ``@base_url`` the ``OPENAI_BASE_URL`` variable is used.
Options: the ``SamplingParams`` fields plus ``endpoint`` ("chat" (default) or "completions"), ``concurrency``
(requests in flight, default 8), ``timeout_s`` (per request, default 120), ``max_retries`` (default 5),
``backoff_s`` (first retry delay, doubled each time with jitter, default 0.5), ``max_backoff_s`` (30),
``api_key`` (default: ``$OPENAI_API_KEY``), ``system`` (a system message), ``extra_body`` (a dict merged into
every request, e.g. ``{"top_k": 20}`` for vLLM).

Retries: 408/409/429/5xx answers, connection errors and timeouts are retried with exponential backoff and
jitter (a ``Retry-After`` header is honoured up to ``max_backoff_s``); other 4xx answers fail at once with the
server's message. Token counts come from the response's ``usage``. Only the standard library is used.
"""

from __future__ import annotations

import json
import os
import random
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

from rlvr_gym.agents.base import Agent, Reply
from rlvr_gym.agents.lm.sampling import SamplingParams, agent_options, split_spec_options

RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


class OpenAIRequestError(RuntimeError):
    """A request that failed for good (after retries, or with a non-retryable status)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def normalise_base_url(url: str) -> str:
    url = url.strip().rstrip("/")
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"base URL must look like http(s)://host[:port][/v1], got {url!r}")
    if parsed.path in ("", "/"):
        url += "/v1"
    return url


def parse_openai_spec(rest: str) -> tuple[str, str | None, dict]:
    """``model@base_url?opts`` -> (model, base_url or None, options)."""
    target, options = split_spec_options(rest)
    model, base = target, None
    for marker in ("@http://", "@https://"):
        i = target.find(marker)
        if i >= 0:
            model, base = target[:i], target[i + 1 :]
            break
    else:
        if "@" in target:  # model@host:port
            model, _, host = target.rpartition("@")
            base = "http://" + host
    return model.strip(), base, options


class OpenAIAgent(Agent):
    """Sends each observation as one request to an OpenAI-compatible server, several at a time."""

    def __init__(
        self,
        model: str,
        base_url: str,
        *,
        sampling: SamplingParams | None = None,
        endpoint: str = "chat",
        concurrency: int = 8,
        timeout_s: float = 120.0,
        max_retries: int = 5,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        api_key: str | None = None,
        system: str | None = None,
        extra_body: dict | None = None,
    ):
        if not isinstance(model, str) or not model:
            raise ValueError("openai agent needs a model name: openai:<model>@<base_url>")
        if endpoint not in ("chat", "completions"):
            raise ValueError(f"endpoint must be 'chat' or 'completions', got {endpoint!r}")
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency must be an integer >= 1, got {concurrency!r}")
        if not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be an integer >= 0, got {max_retries!r}")
        if timeout_s <= 0 or backoff_s < 0 or max_backoff_s < 0:
            raise ValueError("timeout_s must be > 0 and backoff_s, max_backoff_s >= 0")
        if extra_body is not None and not isinstance(extra_body, dict):
            raise ValueError(f"extra_body must be a dict, got {type(extra_body).__name__}")
        self.model = model
        self.base_url = normalise_base_url(base_url)
        self.sampling = sampling or SamplingParams()
        self.endpoint = endpoint
        self.concurrency = concurrency
        self.timeout_s = float(timeout_s)
        self.max_retries = max_retries
        self.backoff_s = float(backoff_s)
        self.max_backoff_s = float(max_backoff_s)
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.system = system
        self.extra_body = dict(extra_body or {})
        self.name = f"openai:{model}"
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="rlvr-gym-openai")
        self._jitter = random.Random(self.sampling.seed)
        self._jitter_lock = threading.Lock()
        self.retries_done = 0  # how many retries this agent has made (for reports and tests)

    # -- HTTP ----------------------------------------------------------------------------------------------
    def _headers(self) -> dict:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(max(0.0, float(retry_after)), self.max_backoff_s)
            except ValueError:
                pass  # an HTTP date: fall back to our own backoff
        with self._jitter_lock:
            jitter = 0.5 + self._jitter.random()
        return min(self.max_backoff_s, self.backoff_s * (2**attempt)) * jitter

    def request(self, path: str, body: dict | None = None) -> dict:
        """POST (or GET when body is None) ``base_url + path`` with retries; returns the decoded JSON."""
        url = self.base_url + path
        data = None if body is None else json.dumps(body).encode()
        last = ""
        for attempt in range(self.max_retries + 1):
            retry_after = None
            req = urllib.request.Request(url, data=data, headers=self._headers(), method="GET" if body is None else "POST")
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    return json.loads(resp.read().decode())
            except urllib.error.HTTPError as exc:
                detail = _error_message(exc)
                if exc.code not in RETRY_STATUS:
                    raise OpenAIRequestError(f"{url} answered {exc.code}: {detail}", exc.code) from None
                last, retry_after, status = f"HTTP {exc.code}: {detail}", exc.headers.get("Retry-After"), exc.code
            except (urllib.error.URLError, ConnectionError, socket.timeout, TimeoutError) as exc:
                reason = getattr(exc, "reason", exc)
                last, status = f"{type(reason).__name__}: {reason}", None
            except json.JSONDecodeError as exc:
                raise OpenAIRequestError(f"{url} did not answer JSON: {exc}") from None
            if attempt < self.max_retries:
                self.retries_done += 1
                time.sleep(self._delay(attempt, retry_after))
        raise OpenAIRequestError(f"{url} failed after {self.max_retries + 1} attempt(s); last error: {last}", status)

    def list_models(self) -> list[str]:
        return [m.get("id") for m in self.request("/models").get("data", [])]

    # -- one observation -------------------------------------------------------------------------------------
    def _body(self, observation: str, params: SamplingParams) -> tuple[str, dict]:
        body: dict[str, Any] = {"model": self.model, "max_tokens": params.max_tokens,
                                "temperature": params.temperature, "top_p": params.top_p, "n": params.n}
        if params.stop:
            body["stop"] = list(params.stop)
        if params.seed is not None:
            body["seed"] = params.seed
        if self.endpoint == "chat":
            messages = [{"role": "user", "content": observation}]
            if self.system is not None:
                messages.insert(0, {"role": "system", "content": self.system})
            body["messages"] = messages
            path = "/chat/completions"
        else:
            body["prompt"] = observation if self.system is None else f"{self.system}\n\n{observation}"
            path = "/completions"
        body.update(self.extra_body)
        return path, body

    def _one(self, observation: str, params: SamplingParams) -> Reply:
        if not isinstance(observation, str):
            raise TypeError(f"observations must be strings, got {type(observation).__name__}")
        path, body = self._body(observation, params)
        started = time.perf_counter()
        answer = self.request(path, body)
        latency = time.perf_counter() - started
        choices = answer.get("choices") or []
        if not choices:
            raise OpenAIRequestError(f"{self.base_url}{path} answered without choices: {str(answer)[:300]}")
        texts = []
        for c in sorted(choices, key=lambda c: c.get("index", 0)):
            if self.endpoint == "chat":
                texts.append((c.get("message") or {}).get("content") or "")
            else:
                texts.append(c.get("text") or "")
        usage = answer.get("usage") or {}
        extra: dict[str, Any] = {"finish_reason": choices[0].get("finish_reason"), "id": answer.get("id")}
        if len(texts) > 1:
            extra["samples"] = texts
        return Reply(text=texts[0], prompt_tokens=usage.get("prompt_tokens"),
                     completion_tokens=usage.get("completion_tokens"), latency_s=latency, extra=extra)

    # -- Agent protocol ------------------------------------------------------------------------------------
    def reply_batch(self, observations: Sequence[str], infos: Sequence[dict] | None = None) -> list[Reply]:
        if self._pool is None:
            raise RuntimeError("this agent is closed")
        futures = [self._pool.submit(self._one, o, self.sampling) for o in observations]
        return [f.result() for f in futures]

    def act_batch(self, observations: Sequence[str], infos: Sequence[dict] | None = None) -> list[str]:
        return [r.text for r in self.reply_batch(observations, infos)]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def _error_message(exc: urllib.error.HTTPError) -> str:
    try:
        raw = exc.read().decode(errors="replace")
    except Exception:
        return exc.reason if isinstance(exc.reason, str) else str(exc)
    try:
        payload = json.loads(raw)
        err = payload.get("error", payload) if isinstance(payload, dict) else payload
        if isinstance(err, dict) and "message" in err:
            return str(err["message"])[:500]
    except json.JSONDecodeError:
        pass
    return raw[:500]


_AGENT_OPTIONS = ("endpoint", "concurrency", "timeout_s", "max_retries", "backoff_s", "max_backoff_s", "api_key",
                  "system", "extra_body")


def from_spec(rest: str, **options: Any) -> OpenAIAgent:
    """``openai:`` spec -> OpenAIAgent (see the module docstring)."""
    model, base, spec_options = parse_openai_spec(rest)
    if not model:
        raise ValueError("openai: needs a model, e.g. openai:Qwen/Qwen3-0.6B@http://localhost:8000/v1")
    base = base or os.environ.get("OPENAI_BASE_URL")
    if not base:
        raise ValueError(f"openai:{model} has no base URL: write openai:{model}@http://host:port/v1 or set OPENAI_BASE_URL")
    sampling, other = agent_options("openai", options, spec_options, _AGENT_OPTIONS)
    return OpenAIAgent(model, base, sampling=sampling, **other)
