"""A small OpenAI-compatible HTTP server for a local transformers model (stdlib only besides the model).

Endpoints: ``GET /v1/models``, ``GET /health``, ``POST /v1/completions``, ``POST /v1/chat/completions``. Responses
carry ``usage`` token counts. ``"stream": true`` is answered as server-sent events in OpenAI's chunk format (a role
chunk, the whole text as one content chunk, a finish chunk, a usage chunk when ``stream_options.include_usage``, then
``[DONE]``): generation is not incremental, but clients that always stream (e.g. the chat program of Prime
Intellect's verifiers harnesses) work. Requests that arrive together are batched: handler threads put their
prompts on a queue; one worker thread takes whatever is waiting (up to ``batch_size`` prompts with the same
sampling parameters), generates them in one ``generate`` call and hands the results back.

It exists so that the ``openai:`` agent, evaluation scripts and users' own OpenAI clients can be run and tested
against a real server on a laptop; for throughput use vLLM (``vllm serve``).

    server = start_server("tiny-random", port=0)      # background thread; server.url = "http://127.0.0.1:PORT/v1"
    ...
    server.close()

Limits (``ServerLimits``; ``rlvr serve --max-body-bytes ...``), so that one request cannot stop the server answering
everyone, as in the servers people run in production (vLLM, TGI, uvicorn):

- a body larger than ``max_body_bytes`` -> 413 before it is read; a POST without Content-Length (or chunked) -> 411;
  a Content-Length that is not a non-negative integer -> 400; JSON nested too deeply -> 400;
- headers and body must arrive within ``read_timeout_s`` (a stalled client frees its thread: 408 or a closed
  connection); at most ``max_connections`` connections are handled at once, more get 503 at once;
- prompt tokens + max_tokens must fit the model's context (400 saying by how much they do not); ``n`` at most
  ``max_n``, at most ``max_prompts`` prompts per request, at most 4 stop strings; sampling values in range (400);
- at most ``max_queue`` sequences (prompts x n) wait or run; a request that would pass it gets 429 with
  Retry-After at once;
- one generate call stops after ``generation_timeout_s`` (its replies end with finish_reason "length"), and a
  request that waited ``request_timeout_s`` in all gets 503.

Refused requests cost a handler thread microseconds to milliseconds and never reach the model; ``server.stats``
counts responses by status. ``fail_first=k`` makes the first k generation requests fail with ``fail_status`` (e.g.
429 or 503): a real failing server for testing clients' retry logic.
"""

from __future__ import annotations

import json
import math
import queue
import socket
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from rlvr_gym.agents.lm.sampling import SamplingParams

__all__ = ["OpenAICompatServer", "ServerLimits", "RequestError", "BatchingGenerator", "QueueFull", "start_server",
           "serve"]


class RequestError(Exception):
    """An error reported to the client as an OpenAI-style error body."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error",
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind
        self.headers = headers or {}


class QueueFull(Exception):
    """The generation queue holds ``max_queue`` sequences already."""


@dataclass(frozen=True)
class ServerLimits:
    """What one request may ask of the server (module docstring). Defaults suit a CPU machine and a small model."""

    max_body_bytes: int = 1 << 20          # 1 MiB: far more than any prompt that fits an 8k-token context
    max_n: int = 8                         # completions per prompt
    max_prompts: int = 32                  # prompts in one /v1/completions request
    max_stop: int = 4                      # stop strings (OpenAI's limit)
    max_queue: int = 64                    # sequences (prompts x n) waiting or being generated
    max_connections: int = 64              # connections handled at once
    read_timeout_s: float = 10.0           # for the request line, headers and body to arrive
    generation_timeout_s: float = 120.0    # one generate call
    request_timeout_s: float = 300.0       # a request, queue and generation together

    def validate(self) -> "ServerLimits":
        for name, value in asdict(self).items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        return self


@dataclass
class _Job:
    prompt: str
    params: SamplingParams
    future: Future
    cost: int


class BatchingGenerator:
    """Runs an HFAgent's ``generate`` on one worker thread, batching prompts that wait together. Admission is
    bounded: ``submit`` raises QueueFull when the sequences waiting or running would pass ``max_queue``."""

    def __init__(self, agent, batch_size: int = 8, wait_s: float = 0.01, max_queue: int = 64,
                 generation_timeout_s: float | None = None):
        self.agent = agent
        self.batch_size = batch_size
        self.wait_s = wait_s
        self.max_queue = max_queue
        self.generation_timeout_s = generation_timeout_s
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self.in_flight = 0          # sequences admitted and not finished
        self.batches_run = 0
        self._thread = threading.Thread(target=self._loop, name="rlvr-gym-generate", daemon=True)
        self._thread.start()

    def submit(self, prompts: list[str], params: SamplingParams) -> list[Future]:
        cost = max(1, params.n if not params.greedy else 1)
        with self._lock:
            if self.in_flight + cost * len(prompts) > self.max_queue:
                raise QueueFull(f"{self.in_flight} sequences are waiting or being generated (the limit is "
                                f"{self.max_queue})")
            self.in_flight += cost * len(prompts)
        futures = []
        for p in prompts:
            fut: Future = Future()
            self._queue.put(_Job(p, params, fut, cost))
            futures.append(fut)
        return futures

    def _release(self, jobs: list[_Job]) -> None:
        with self._lock:
            self.in_flight -= sum(j.cost for j in jobs)

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            jobs = [job]
            deadline = time.monotonic() + self.wait_s
            while len(jobs) < 4 * self.batch_size:
                try:
                    nxt = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)
                    break
                jobs.append(nxt)
            live = [j for j in jobs if j.future.set_running_or_notify_cancel()]   # a timed-out request cancels
            self._release([j for j in jobs if j.future.cancelled()])
            groups: dict[SamplingParams, list[_Job]] = {}
            for j in live:
                groups.setdefault(j.params, []).append(j)
            for params, group in groups.items():
                for start in range(0, len(group), self.batch_size):
                    chunk = group[start : start + self.batch_size]
                    try:
                        results = self.agent.generate([j.prompt for j in chunk], params,
                                                      max_time_s=self.generation_timeout_s)
                        self.batches_run += 1
                    except Exception as exc:  # the error goes to every waiting request
                        for j in chunk:
                            j.future.set_exception(exc)
                        continue
                    finally:
                        self._release(chunk)
                    for j, samples in zip(chunk, results):
                        j.future.set_result(samples)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)


def _number(body: dict, key: str, default: float, low: float, high: float, *, low_open: bool = False) -> float:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RequestError(400, f"{key} must be a number, got {json.dumps(value)[:40]}")
    if value < low or value > high or (low_open and value == low):
        bracket = "(" if low_open else "["
        raise RequestError(400, f"{key} must be in {bracket}{low:g}, {high:g}], got {value}")
    return float(value)


def _integer(body: dict, key: str, low: int, high: int | None = None) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise RequestError(400, f"{key} must be an integer, got {json.dumps(value)[:40]}")
    if value < low or (high is not None and value > high):
        limit = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise RequestError(400, f"{key} must be {limit}, got {value}")
    return value


class OpenAICompatServer:
    """The server object: model, batching worker, HTTP server. Use ``start_server`` or ``serve``."""

    def __init__(
        self,
        model: str,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        served_name: str | None = None,
        api_key: str | None = None,
        batch_size: int = 8,
        max_tokens: int = 256,
        limits: ServerLimits | None = None,
        fail_first: int = 0,
        fail_status: int = 503,
        verbose: bool = False,
        **agent_options: Any,
    ):
        from rlvr_gym.agents.hf import HFAgent

        self.limits = (limits or ServerLimits()).validate()
        self.agent = HFAgent(model, batch_size=batch_size, sampling=SamplingParams(max_tokens=max_tokens), **agent_options)
        self.served_name = served_name or str(model)
        self.api_key = api_key
        self.default_max_tokens = max_tokens
        self.context_length = _context_length(self.agent.model, self.agent.tokenizer)
        self.verbose = verbose
        self._fail_left = fail_first
        self.fail_status = fail_status
        self._fail_lock = threading.Lock()
        self.requests_seen = 0
        self.stats: Counter = Counter()          # responses by status code (and "dropped": connections over the cap)
        self._stats_lock = threading.Lock()
        self.generator = BatchingGenerator(self.agent, batch_size=batch_size, max_queue=self.limits.max_queue,
                                           generation_timeout_s=self.limits.generation_timeout_s)
        self.created = int(time.time())
        self.httpd = _LimitedHTTPServer((host, port), self._handler_class(), self)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        host = self.httpd.server_address[0]
        return f"http://{host}:{self.port}/v1"

    def count(self, key) -> None:
        with self._stats_lock:
            self.stats[key] += 1

    # -- request handling ---------------------------------------------------------------------------------
    def _check_model(self, body: dict) -> None:
        name = body.get("model")
        if name is not None and name != self.served_name:
            raise RequestError(404, f"model {str(name)[:100]!r} does not exist; this server serves "
                               f"{self.served_name!r}", "model_not_found")

    def _maybe_fail(self) -> None:
        with self._fail_lock:
            self.requests_seen += 1
            if self._fail_left > 0:
                self._fail_left -= 1
                raise RequestError(self.fail_status, f"injected failure ({self._fail_left} left)", "server_error")

    def _sampling(self, body: dict, prompt_tokens: list[int]) -> SamplingParams:
        """The request's sampling parameters, checked against the limits and the model's context."""
        limits = self.limits
        n = _integer(body, "n", 1, limits.max_n) or 1
        temperature = _number(body, "temperature", 1.0, 0.0, 2.0)
        top_p = _number(body, "top_p", 1.0, 0.0, 1.0, low_open=True)
        stop = body.get("stop")
        stops = [stop] if isinstance(stop, str) else stop
        if stops is None:
            stops = []
        if not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops):
            raise RequestError(400, "stop must be a non-empty string or a list of them")
        if len(stops) > limits.max_stop:
            raise RequestError(400, f"stop takes at most {limits.max_stop} strings, got {len(stops)}")
        seed = body.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise RequestError(400, f"seed must be an integer, got {json.dumps(seed)[:40]}")
        key = "max_completion_tokens" if body.get("max_completion_tokens") is not None else "max_tokens"
        asked = _integer(body, key, 1)
        longest = max(prompt_tokens)
        context = self.context_length
        if context is not None and longest >= context:
            raise RequestError(400, f"this model's maximum context length is {context} tokens, but the prompt has "
                                    f"{longest} tokens; shorten it", "context_length_exceeded")
        if asked is None:
            max_tokens = self.default_max_tokens if context is None else min(self.default_max_tokens,
                                                                             context - longest)
        else:
            max_tokens = asked
            if context is not None and longest + asked > context:
                raise RequestError(400, f"this model's maximum context length is {context} tokens, but {longest + asked} "
                                        f"were asked for ({longest} in the prompt, {asked} in the completion); lower "
                                        f"{key} to at most {context - longest} or shorten the prompt",
                                   "context_length_exceeded")
        return SamplingParams(temperature=temperature, top_p=top_p, max_tokens=max_tokens, stop=tuple(stops),
                              seed=seed, n=n)

    def _count_tokens(self, texts: list[str]) -> list[int]:
        tok = self.agent.tokenizer
        # as the agent encodes prompts for generation (chat templates already hold their special tokens)
        return [len(tok(t, add_special_tokens=not self.agent.chat)["input_ids"]) for t in texts]

    def _generate(self, prompts: list[str], params: SamplingParams) -> list:
        self._maybe_fail()
        try:
            futures = self.generator.submit(prompts, params)
        except QueueFull as exc:
            raise RequestError(429, f"the server is busy: {exc}; retry shortly", "rate_limit_exceeded",
                               headers={"Retry-After": "1"}) from None
        deadline = time.monotonic() + self.limits.request_timeout_s
        results = []
        try:
            for fut in futures:
                results.append(fut.result(timeout=max(0.0, deadline - time.monotonic())))
        except (FutureTimeout, CancelledError):
            for fut in futures:
                fut.cancel()          # still queued: never generated
            raise RequestError(503, f"the request took longer than {self.limits.request_timeout_s:g} s "
                               "(queue and generation); retry later", "timeout",
                               headers={"Retry-After": "5"}) from None
        return results

    def completions(self, body: dict) -> dict:
        self._check_model(body)
        prompt = body.get("prompt")
        prompts = [prompt] if isinstance(prompt, str) else prompt
        if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) for p in prompts):
            raise RequestError(400, "prompt must be a string or a non-empty list of strings")
        if len(prompts) > self.limits.max_prompts:
            raise RequestError(400, f"at most {self.limits.max_prompts} prompts per request, got {len(prompts)}")
        params = self._sampling(body, self._count_tokens(prompts))
        results = self._generate(prompts, params)
        choices, prompt_tokens, completion_tokens = [], 0, 0
        for samples in results:
            prompt_tokens += samples[0].prompt_tokens
            for s in samples:
                completion_tokens += s.completion_tokens
                choices.append({"index": len(choices), "text": s.text, "logprobs": None,
                                "finish_reason": s.extra.get("finish_reason", "stop")})
        return {
            "id": f"cmpl-{uuid.uuid4().hex[:24]}", "object": "text_completion", "created": int(time.time()),
            "model": self.served_name, "choices": choices,
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }

    def chat_completions(self, body: dict) -> dict:
        self._check_model(body)
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
            for m in messages
        ):
            raise RequestError(400, "messages must be a non-empty list of {role: str, content: str} objects")
        tok = self.agent.tokenizer
        if not getattr(tok, "chat_template", None):
            raise RequestError(400, "the served model has no chat template; use /v1/completions")
        try:
            prompt = tok.apply_chat_template([{"role": m["role"], "content": m["content"]} for m in messages],
                                             tokenize=False, add_generation_prompt=True)
        except Exception as exc:  # noqa: BLE001 - a template that rejects the roles given
            raise RequestError(400, f"the chat template rejected these messages: {str(exc)[:200]}") from None
        params = self._sampling(body, self._count_tokens([prompt]))
        (samples,) = self._generate([prompt], params)
        completion_tokens = sum(s.completion_tokens for s in samples)
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion", "created": int(time.time()),
            "model": self.served_name,
            "choices": [
                {"index": i, "message": {"role": "assistant", "content": s.text},
                 "finish_reason": s.extra.get("finish_reason", "stop"), "logprobs": None}
                for i, s in enumerate(samples)
            ],
            "usage": {"prompt_tokens": samples[0].prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": samples[0].prompt_tokens + completion_tokens},
        }

    @staticmethod
    def stream_events(response: dict, include_usage: bool) -> list[dict]:
        """A finished completion as the chunks of an OpenAI stream (chat or text completion)."""
        chat = response["object"] == "chat.completion"
        head = {"id": response["id"], "object": "chat.completion.chunk" if chat else "text_completion",
                "created": response["created"], "model": response["model"]}
        events = []
        for choice in response["choices"]:
            i = choice["index"]
            if chat:
                text = choice["message"]["content"]
                events.append({**head, "choices": [{"index": i, "delta": {"role": "assistant", "content": ""},
                                                    "logprobs": None, "finish_reason": None}]})
                events.append({**head, "choices": [{"index": i, "delta": {"content": text}, "logprobs": None,
                                                    "finish_reason": None}]})
                events.append({**head, "choices": [{"index": i, "delta": {}, "logprobs": None,
                                                    "finish_reason": choice["finish_reason"]}]})
            else:
                events.append({**head, "choices": [{"index": i, "text": choice["text"], "logprobs": None,
                                                    "finish_reason": choice["finish_reason"]}]})
        if include_usage:
            events.append({**head, "choices": [], "usage": response["usage"]})
        return events

    def models(self) -> dict:
        card = {"id": self.served_name, "object": "model", "created": self.created, "owned_by": "rlvr-gym"}
        if self.context_length is not None:
            card["max_model_len"] = self.context_length
        return {"object": "list", "data": [card]}

    def _read_body(self, handler: BaseHTTPRequestHandler) -> dict:
        """The JSON object of a POST, within the limits (module docstring)."""
        if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
            raise RequestError(411, "chunked request bodies are not supported; send Content-Length")
        raw = handler.headers.get("Content-Length")
        if raw is None:
            raise RequestError(411, "a POST needs a Content-Length header")
        raw = raw.strip()
        if not raw.isdigit():
            raise RequestError(400, f"Content-Length must be a non-negative integer, got {raw[:40]!r}")
        length = int(raw)
        if length > self.limits.max_body_bytes:
            if length <= DRAIN_BYTES:    # read and drop it, so that the client (still sending) gets the answer
                _drain(handler.rfile, length)
            raise RequestError(413, f"the request body has {length} bytes; this server takes at most "
                               f"{self.limits.max_body_bytes} (rlvr serve --max-body-bytes)", "request_too_large")
        data = handler.rfile.read(length)       # the read deadline (Handler.setup) bounds a client that stalls
        if len(data) < length:
            if getattr(handler, "expired", False):
                raise RequestError(408, f"the request did not arrive within {self.limits.read_timeout_s:g} s",
                                   "timeout")
            raise RequestError(400, f"the body ended after {len(data)} of {length} bytes")
        try:
            body = json.loads(data or b"null")
        except RecursionError:
            raise RequestError(400, "the request body is JSON nested too deeply") from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise RequestError(400, "the request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise RequestError(400, "the request body must be a JSON object")
        return body

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "rlvr-gym-openai/0.2"
            timeout = server.limits.read_timeout_s      # socket timeout: a stalled client frees this thread

            def setup(self):
                super().setup()
                # One deadline for the whole request (line, headers, body): a client that trickles bytes cannot
                # hold the thread longer. At the deadline the read side is shut: the blocked read returns.
                self.expired = False
                self._deadline = threading.Timer(server.limits.read_timeout_s, self._expire)
                self._deadline.daemon = True
                self._deadline.start()

            def _expire(self):
                self.expired = True
                try:
                    self.connection.shutdown(socket.SHUT_RD)
                except OSError:
                    pass

            def _arrived(self) -> bool:
                """Stops the read deadline; False (after a 408) when the request was cut off by it."""
                self._deadline.cancel()
                if self.expired:
                    self._error(RequestError(408, f"the request did not arrive within "
                                                  f"{server.limits.read_timeout_s:g} s", "timeout"))
                    return False
                return True

            def finish(self):
                self._deadline.cancel()
                super().finish()

            def log_message(self, fmt, *args):  # quiet unless asked
                if server.verbose:
                    super().log_message(fmt, *args)

            def _send(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
                server.count(status)
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in (headers or {}).items():
                        self.send_header(key, value)
                    if status >= 400:
                        self.send_header("Connection", "close")
                        self.close_connection = True
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:       # the client went away: nothing to tell it
                    self.close_connection = True

            def _send_stream(self, events: list[dict]) -> None:
                # HTTP/1.0: the body ends when the connection closes, as server-sent events may
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                for event in events:
                    self.wfile.write(b"data: " + json.dumps(event).encode() + b"\n\n")
                self.wfile.write(b"data: [DONE]\n\n")

            def _error(self, exc: RequestError) -> None:
                headers = dict(exc.headers)
                if exc.status == 429:
                    headers.setdefault("Retry-After", "1")
                self._send(exc.status, {"error": {"message": exc.message, "type": exc.kind, "code": exc.status}},
                           headers)

            def _authorised(self) -> bool:
                if server.api_key is None:
                    return True
                if self.headers.get("Authorization", "") == f"Bearer {server.api_key}":
                    return True
                self._error(RequestError(401, "missing or wrong API key (Authorization: Bearer ...)", "authentication_error"))
                return False

            def do_GET(self):  # noqa: N802 (http.server naming)
                if not self._arrived() or not self._authorised():
                    return
                if self.path.rstrip("/") in ("/v1/models", "/models"):
                    self._send(200, server.models())
                elif self.path.rstrip("/") in ("/health", "/v1/health"):
                    self._send(200, {"status": "ok", "in_flight": server.generator.in_flight})
                else:
                    self._error(RequestError(404, f"no route {self.path[:200]}", "not_found"))

            def do_POST(self):  # noqa: N802
                if self.expired:      # the headers were cut off by the read deadline
                    self._arrived()
                    return
                if not self._authorised():
                    return
                route = self.path.rstrip("/")
                routes = {"/v1/completions": server.completions, "/v1/chat/completions": server.chat_completions}
                handler = routes.get(route)
                try:
                    if handler is None:
                        raise RequestError(404, f"no route {self.path[:200]}", "not_found")
                    body = server._read_body(self)
                    if not self._arrived():
                        return
                    response = handler(body)
                    if body.get("stream"):
                        options = body.get("stream_options") or {}
                        include_usage = bool(options.get("include_usage")) if isinstance(options, dict) else False
                        self._send_stream(server.stream_events(response, include_usage))
                    else:
                        self._send(200, response)
                except RequestError as exc:
                    self._error(exc)
                except (socket.timeout, TimeoutError):
                    self._error(RequestError(408, f"the request did not arrive within "
                                                  f"{server.limits.read_timeout_s:g} s", "timeout"))
                except Exception as exc:  # a bug or a generation failure: report it, keep serving
                    self._error(RequestError(500, f"{type(exc).__name__}: {str(exc)[:300]}", "server_error"))

        return Handler

    # -- life cycle -------------------------------------------------------------------------------------------
    def serve_forever(self) -> None:
        try:
            self.httpd.serve_forever()
        finally:
            self.httpd.server_close()
            self.generator.close()

    def start(self) -> "OpenAICompatServer":
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="rlvr-gym-http", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self.httpd.server_close()
        self.generator.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


DRAIN_BYTES = 32 << 20   # an oversized body up to this size is read and dropped before the 413 (else: closed)


def _drain(stream, length: int) -> None:
    left = length
    while left > 0:
        chunk = stream.read(min(left, 1 << 16))
        if not chunk:
            return
        left -= len(chunk)


class _LimitedHTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with at most ``max_connections`` connections handled at once: one more is answered 503
    on the accepting thread, without a thread of its own."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address, handler_class, owner: OpenAICompatServer):
        self.owner = owner
        self._slots = threading.BoundedSemaphore(owner.limits.max_connections)
        super().__init__(address, handler_class)

    def process_request(self, request, client_address):
        if not self._slots.acquire(blocking=False):
            self.owner.count("dropped")
            self.owner.count(503)
            body = json.dumps({"error": {"message": "too many connections; retry shortly", "type": "overloaded",
                                         "code": 503}}).encode()
            try:
                request.settimeout(1.0)
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                                b"Retry-After: 1\r\nConnection: close\r\nContent-Length: "
                                + str(len(body)).encode() + b"\r\n\r\n" + body)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def _context_length(model, tokenizer) -> int | None:
    """The model's context in tokens (max_position_embeddings, else a sane tokenizer.model_max_length), or None."""
    config = getattr(model, "config", None)
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    value = getattr(tokenizer, "model_max_length", None)
    return value if isinstance(value, int) and 0 < value < 10_000_000 else None


def start_server(model: str, host: str = "127.0.0.1", port: int = 0, **options: Any) -> OpenAICompatServer:
    """Start a server on a background thread (port 0 = any free port); returns it (``.url``, ``.close()``)."""
    return OpenAICompatServer(model, host, port, **options).start()


def serve(model: str, host: str = "127.0.0.1", port: int = 8000, **options: Any) -> None:
    """Serve until interrupted (the ``rlvr serve`` command)."""
    server = OpenAICompatServer(model, host, port, **options)
    limits = server.limits
    print(f"serving {server.served_name} at {server.url} (Ctrl-C stops); context {server.context_length} tokens, "
          f"bodies <= {limits.max_body_bytes} bytes, n <= {limits.max_n}, queue <= {limits.max_queue} sequences, "
          f"generation <= {limits.generation_timeout_s:g} s", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
