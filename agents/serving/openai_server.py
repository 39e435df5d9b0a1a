"""A small OpenAI-compatible HTTP server for a local transformers model (stdlib only besides the model).

Endpoints: ``GET /v1/models``, ``POST /v1/completions``, ``POST /v1/chat/completions``. Responses carry ``usage``
token counts. ``"stream": true`` is answered as server-sent events in OpenAI's chunk format (a role chunk, the whole
text as one content chunk, a finish chunk, a usage chunk when ``stream_options.include_usage``, then ``[DONE]``):
generation is not incremental, but clients that always stream (e.g. the chat program of Prime Intellect's
verifiers harnesses) work. Requests that arrive together are batched: handler threads put their
prompts on a queue; one worker thread takes whatever is waiting (up to ``batch_size`` prompts with the same
sampling parameters), generates them in one ``generate`` call and hands the results back.

It exists so that the ``openai:`` agent, evaluation scripts and users' own OpenAI clients can be run and tested
against a real server on a laptop; for throughput use vLLM (``vllm serve``).

    server = start_server("tiny-random", port=0)      # background thread; server.url = "http://127.0.0.1:PORT/v1"
    ...
    server.close()

``fail_first=k`` makes the first k generation requests fail with ``fail_status`` (e.g. 429 or 503): a real
failing server for testing clients' retry logic.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from concurrent.futures import Future
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from rlvr_gym.agents.lm.sampling import SamplingParams


class RequestError(Exception):
    """An error reported to the client as an OpenAI-style error body."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind


@dataclass
class _Job:
    prompt: str
    params: SamplingParams
    future: Future


class BatchingGenerator:
    """Runs an HFAgent's ``generate`` on one worker thread, batching prompts that wait together."""

    def __init__(self, agent, batch_size: int = 8, wait_s: float = 0.01):
        self.agent = agent
        self.batch_size = batch_size
        self.wait_s = wait_s
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="rlvr-gym-generate", daemon=True)
        self._thread.start()
        self.batches_run = 0

    def submit(self, prompts: list[str], params: SamplingParams) -> list[Future]:
        futures = []
        for p in prompts:
            fut: Future = Future()
            self._queue.put(_Job(p, params, fut))
            futures.append(fut)
        return futures

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
            groups: dict[SamplingParams, list[_Job]] = {}
            for j in jobs:
                groups.setdefault(j.params, []).append(j)
            for params, group in groups.items():
                for start in range(0, len(group), self.batch_size):
                    chunk = group[start : start + self.batch_size]
                    try:
                        results = self.agent.generate([j.prompt for j in chunk], params)
                        self.batches_run += 1
                    except Exception as exc:  # the error goes to every waiting request
                        for j in chunk:
                            j.future.set_exception(exc)
                        continue
                    for j, samples in zip(chunk, results):
                        j.future.set_result(samples)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)


def _sampling_from_body(body: dict, default_max_tokens: int) -> SamplingParams:
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    stop = body.get("stop")
    try:
        return SamplingParams(
            temperature=float(body["temperature"]) if body.get("temperature") is not None else 1.0,
            top_p=float(body["top_p"]) if body.get("top_p") is not None else 1.0,
            max_tokens=int(max_tokens) if max_tokens is not None else default_max_tokens,
            stop=tuple([stop] if isinstance(stop, str) else (stop or ())),
            seed=body.get("seed"),
            n=int(body.get("n") or 1),
        )
    except (TypeError, ValueError) as exc:
        raise RequestError(400, f"bad sampling parameters: {exc}") from None


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
        fail_first: int = 0,
        fail_status: int = 503,
        verbose: bool = False,
        **agent_options: Any,
    ):
        from rlvr_gym.agents.hf import HFAgent

        self.agent = HFAgent(model, batch_size=batch_size, sampling=SamplingParams(max_tokens=max_tokens), **agent_options)
        self.served_name = served_name or str(model)
        self.api_key = api_key
        self.default_max_tokens = max_tokens
        self.verbose = verbose
        self._fail_left = fail_first
        self.fail_status = fail_status
        self._fail_lock = threading.Lock()
        self.requests_seen = 0
        self.generator = BatchingGenerator(self.agent, batch_size=batch_size)
        self.created = int(time.time())
        self.httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        host = self.httpd.server_address[0]
        return f"http://{host}:{self.port}/v1"

    # -- request handling ---------------------------------------------------------------------------------
    def _check_model(self, body: dict) -> None:
        name = body.get("model")
        if name is not None and name != self.served_name:
            raise RequestError(404, f"model {name!r} does not exist; this server serves {self.served_name!r}",
                               "model_not_found")

    def _maybe_fail(self) -> None:
        with self._fail_lock:
            self.requests_seen += 1
            if self._fail_left > 0:
                self._fail_left -= 1
                raise RequestError(self.fail_status, f"injected failure ({self._fail_left} left)", "server_error")

    def _wait(self, futures: list[Future]) -> list:
        return [f.result() for f in futures]

    def completions(self, body: dict) -> dict:
        self._check_model(body)
        prompt = body.get("prompt")
        prompts = [prompt] if isinstance(prompt, str) else prompt
        if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) for p in prompts):
            raise RequestError(400, "prompt must be a string or a non-empty list of strings")
        params = _sampling_from_body(body, self.default_max_tokens)
        self._maybe_fail()
        results = self._wait(self.generator.submit(prompts, params))
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
        prompt = tok.apply_chat_template(
            [{"role": m["role"], "content": m["content"]} for m in messages], tokenize=False, add_generation_prompt=True
        )
        params = _sampling_from_body(body, self.default_max_tokens)
        self._maybe_fail()
        (samples,) = self._wait(self.generator.submit([prompt], params))
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
        return {"object": "list", "data": [{"id": self.served_name, "object": "model", "created": self.created,
                                            "owned_by": "rlvr-gym"}]}

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "rlvr-gym-openai/0.1"

            def log_message(self, fmt, *args):  # quiet unless asked
                if server.verbose:
                    super().log_message(fmt, *args)

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(data)

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
                self._send(exc.status, {"error": {"message": exc.message, "type": exc.kind, "code": exc.status}})

            def _authorised(self) -> bool:
                if server.api_key is None:
                    return True
                if self.headers.get("Authorization", "") == f"Bearer {server.api_key}":
                    return True
                self._error(RequestError(401, "missing or wrong API key (Authorization: Bearer ...)", "authentication_error"))
                return False

            def do_GET(self):  # noqa: N802 (http.server naming)
                if not self._authorised():
                    return
                if self.path.rstrip("/") in ("/v1/models", "/models"):
                    self._send(200, server.models())
                elif self.path.rstrip("/") in ("/health", "/v1/health"):
                    self._send(200, {"status": "ok"})
                else:
                    self._error(RequestError(404, f"no route {self.path}", "not_found"))

            def do_POST(self):  # noqa: N802
                if not self._authorised():
                    return
                route = self.path.rstrip("/")
                routes = {"/v1/completions": server.completions, "/v1/chat/completions": server.chat_completions}
                handler = routes.get(route)
                try:
                    if handler is None:
                        raise RequestError(404, f"no route {self.path}", "not_found")
                    length = int(self.headers.get("Content-Length") or 0)
                    try:
                        body = json.loads(self.rfile.read(length) or b"null")
                    except (json.JSONDecodeError, UnicodeDecodeError):
                        raise RequestError(400, "the request body is not valid JSON") from None
                    if not isinstance(body, dict):
                        raise RequestError(400, "the request body must be a JSON object")
                    response = handler(body)
                    if body.get("stream"):
                        options = body.get("stream_options") or {}
                        include_usage = bool(options.get("include_usage")) if isinstance(options, dict) else False
                        self._send_stream(server.stream_events(response, include_usage))
                    else:
                        self._send(200, response)
                except RequestError as exc:
                    self._error(exc)
                except Exception as exc:  # a bug or a generation failure: report it, keep serving
                    self._error(RequestError(500, f"{type(exc).__name__}: {exc}", "server_error"))

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


def start_server(model: str, host: str = "127.0.0.1", port: int = 0, **options: Any) -> OpenAICompatServer:
    """Start a server on a background thread (port 0 = any free port); returns it (``.url``, ``.close()``)."""
    return OpenAICompatServer(model, host, port, **options).start()


def serve(model: str, host: str = "127.0.0.1", port: int = 8000, **options: Any) -> None:
    """Serve until interrupted (the ``rlvr serve`` command)."""
    server = OpenAICompatServer(model, host, port, **options)
    print(f"serving {server.served_name} at {server.url} (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
