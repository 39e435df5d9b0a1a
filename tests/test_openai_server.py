"""The OpenAI-compatible server (agents/serving/openai_server.py) and the openai: agent, talking over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rlvr_gym.agents.base import load_agent
from rlvr_gym.agents.openai_compat import OpenAIRequestError, normalise_base_url, parse_openai_spec
from rlvr_gym.agents.serving.openai_server import start_server

KEY = "test-key"
OBS = ["short", "a much longer observation with many words in it, so that the batch needs padding", "middle one"]


@pytest.fixture(scope="module")
def server():
    srv = start_server("tiny-random", port=0, max_tokens=10, api_key=KEY)
    yield srv
    srv.close()


def _client(server, **options):
    options.setdefault("api_key", KEY)
    options.setdefault("max_tokens", 10)
    options.setdefault("backoff_s", 0.01)
    return load_agent(f"openai:tiny-random@{server.url}", **options)


def _post(url, body, key=KEY):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def test_spec_parsing_and_base_urls(monkeypatch):
    assert parse_openai_spec("Qwen/Qwen3-0.6B@http://localhost:8000/v1") == ("Qwen/Qwen3-0.6B", "http://localhost:8000/v1", {})
    assert parse_openai_spec("m@localhost:8000?max_tokens=5") == ("m", "http://localhost:8000", {"max_tokens": 5})
    assert parse_openai_spec("gpt-4o-mini") == ("gpt-4o-mini", None, {})
    assert normalise_base_url("http://h:1") == "http://h:1/v1"
    assert normalise_base_url("https://api.example.com/openai/v1/") == "https://api.example.com/openai/v1"
    with pytest.raises(ValueError, match="http"):
        normalise_base_url("localhost:8000")
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ValueError, match="no base URL"):
        load_agent("openai:gpt-4o-mini")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    assert load_agent("openai:gpt-4o-mini").base_url == "http://127.0.0.1:9/v1"
    with pytest.raises(ValueError, match="unknown openai agent option"):
        load_agent("openai:m@http://h:1", concurency=3)


def test_models_endpoint_and_auth(server):
    assert _client(server).list_models() == ["tiny-random"]
    with pytest.raises(OpenAIRequestError, match="401") as info:
        _client(server, api_key="wrong").list_models()
    assert info.value.status == 401


def test_chat_replies_match_the_local_model_with_usage(server):
    client = _client(server)
    replies = client.reply_batch(OBS)
    local = server.agent.reply_batch(OBS)  # the same model, same greedy decoding, in-process
    assert [r.text for r in replies] == [r.text for r in local]
    for r, l in zip(replies, local):
        assert (r.prompt_tokens, r.completion_tokens) == (l.prompt_tokens, l.completion_tokens) == (l.prompt_tokens, 10)
        assert r.extra["finish_reason"] == "length" and r.latency_s > 0
    client.close()
    client.close()  # twice is fine


def test_completions_endpoint_uses_the_raw_prompt(server):
    client = _client(server, endpoint="completions")
    r = client.reply_batch(["plain text prompt"])[0]
    expected = server.agent.generate(["plain text prompt"])[0][0]
    assert r.text == expected.text and r.prompt_tokens == expected.prompt_tokens
    body = _post(server.url + "/completions", {"model": "tiny-random", "prompt": ["a", "b"], "max_tokens": 3, "n": 2,
                                               "temperature": 1.0, "seed": 1})
    assert [c["index"] for c in body["choices"]] == [0, 1, 2, 3]
    assert body["usage"]["completion_tokens"] == 12
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + 12


def test_concurrent_requests_are_batched_and_bounded(server):
    client = _client(server, concurrency=4)
    before = server.generator.batches_run
    many = OBS * 4
    replies = client.reply_batch(many)
    assert [r.text for r in replies] == [r.text for r in client.reply_batch(OBS)] * 4
    batches = server.generator.batches_run - before
    assert batches < len(many) + 3  # 12 + 3 requests took fewer generate calls than requests
    assert client._pool._max_workers == 4


@pytest.mark.parametrize("status", [429, 500, 503])
def test_retries_with_backoff_on_retryable_statuses(server, status):
    with server._fail_lock:
        server._fail_left, server.fail_status = 2, status
    client = _client(server, max_retries=3)
    r = client.reply_batch([OBS[0]])[0]
    assert r.text == server.agent.act(OBS[0]) and client.retries_done == 2


def test_retries_give_up_with_the_last_error(server):
    with server._fail_lock:
        server._fail_left, server.fail_status = 5, 503
    client = _client(server, max_retries=1)
    with pytest.raises(OpenAIRequestError, match="after 2 attempt.*503.*injected") as info:
        client.reply_batch([OBS[0]])
    assert info.value.status == 503 and client.retries_done == 1
    with server._fail_lock:
        server._fail_left = 0


def test_client_errors_are_not_retried(server):
    client = _client(server, max_retries=3)
    client.model = "other-model"
    with pytest.raises(OpenAIRequestError, match="404.*does not exist"):
        client.reply_batch(["x"])
    assert client.retries_done == 0
    for body, message in [({"messages": "hi"}, "messages must be"), ({"prompt": 3}, "prompt must be"),
                          ({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}, "max_tokens")]:
        path = "/chat/completions" if "messages" in body else "/completions"
        with pytest.raises(urllib.error.HTTPError) as info:
            _post(server.url + path, body)
        assert info.value.code == 400 and message in json.loads(info.value.read())["error"]["message"]


class _SlowHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802
        time.sleep(1.5)
        try:
            self.send_response(200)
            self.end_headers()
        except OSError:
            pass


def test_timeouts_are_retried_then_reported():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _SlowHandler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        client = load_agent(f"openai:m@http://127.0.0.1:{httpd.server_address[1]}", timeout_s=0.2, max_retries=1,
                            backoff_s=0.01)
        started = time.perf_counter()
        with pytest.raises(OpenAIRequestError, match="2 attempt.*timed out"):
            client.reply_batch(["x"])
        assert time.perf_counter() - started < 1.4 and client.retries_done == 1
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_connection_refused_is_retried_then_reported():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = load_agent(f"openai:m@http://127.0.0.1:{port}/v1", max_retries=2, backoff_s=0.01)
    with pytest.raises(OpenAIRequestError, match="3 attempt.*(refused|Connection)"):
        client.reply_batch(["x"])
    assert client.retries_done == 2


def test_serve_cli_arguments():
    import argparse

    from rlvr_gym.cli import serve

    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    args = parser.parse_args(["tiny-random", "--port", "0", "--api-key", "k"])
    assert (args.model, args.port, args.api_key, args.host, args.threads) == ("tiny-random", 0, "k", "127.0.0.1", None)


@pytest.mark.slow
def test_rlvr_serve_command_end_to_end(tmp_path):
    """`rlvr serve tiny-random --port 0` in its own process, queried by the openai: agent, then stopped
    (slow: a fresh process imports torch and transformers, 15-40 s on the shared 2-core VM)."""
    import os
    import re
    import subprocess
    import sys

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "rlvr_gym.cli.main", "serve", "tiny-random", "--port", "0",
                             "--max-tokens", "5"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        url = None
        deadline = time.monotonic() + 120
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            match = re.search(r"at (http://127\.0\.0\.1:\d+/v1)", line)
            url = match.group(1) if match else None
        assert url, "the server did not announce its address"
        client = load_agent(f"openai:tiny-random@{url}", max_tokens=3)
        reply = client.reply_batch(["hello"])[0]
        assert reply.completion_tokens == 3 and reply.prompt_tokens > 5 and reply.text
        client.close()
        # A request without max_tokens gets the server's --max-tokens.
        body = _post(url + "/chat/completions", {"messages": [{"role": "user", "content": "hi"}]})
        assert body["usage"]["completion_tokens"] == 5
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _stream(url, body, key=KEY):
    """The JSON events of a server-sent-event response, and whether it ended with [DONE]."""
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.headers["Content-Type"] == "text/event-stream"
        lines = [line for line in resp.read().decode().split("\n\n") if line.strip()]
    assert all(line.startswith("data: ") for line in lines)
    return [json.loads(line[6:]) for line in lines if line != "data: [DONE]"], lines[-1] == "data: [DONE]"


def test_streaming_replays_the_whole_completion_as_openai_chunks(server):
    body = {"model": "tiny-random", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 6,
            "temperature": 0, "stream": True, "stream_options": {"include_usage": True}}
    events, done = _stream(server.url + "/chat/completions", body)
    whole = _post(server.url + "/chat/completions", {**body, "stream": False})
    assert done and {e["object"] for e in events} == {"chat.completion.chunk"}
    text = "".join(c["delta"].get("content", "") for e in events for c in e["choices"])
    assert text == whole["choices"][0]["message"]["content"]              # greedy: the same text either way
    assert events[0]["choices"][0]["delta"]["role"] == "assistant"
    assert [c["finish_reason"] for c in events[-2]["choices"]] == [whole["choices"][0]["finish_reason"]]
    assert events[-1]["choices"] == [] and events[-1]["usage"] == whole["usage"]
    events, done = _stream(server.url + "/completions", {"prompt": "hi", "max_tokens": 4, "temperature": 0,
                                                          "stream": True})
    assert done and len(events) == 1 and events[0]["object"] == "text_completion"
    assert events[0]["choices"][0]["text"] == _post(server.url + "/completions",
                                                    {"prompt": "hi", "max_tokens": 4, "temperature": 0})["choices"][0]["text"]
