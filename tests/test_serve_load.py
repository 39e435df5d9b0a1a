"""`rlvr serve` under bad requests (agents/serving/openai_server.py limits): each kind of bad request is refused with
its status at once (stalled clients at the read deadline) and never reaches the model, valid requests sent meanwhile
are all answered, and the server keeps answering afterwards. Loopback only, bounded loops, small limits so that it
runs in seconds; benchmarks/serve_load.py measures the same with the default limits."""

from __future__ import annotations

import importlib.util
import json
import socket
import threading
import time
from pathlib import Path

import pytest

from rlvr_gym.agents.lm.sampling import SamplingParams
from rlvr_gym.agents.serving.openai_server import BatchingGenerator, QueueFull, ServerLimits, start_server

pytestmark = pytest.mark.usefixtures("one_torch_thread")

_spec = importlib.util.spec_from_file_location(
    "serve_load", Path(__file__).resolve().parents[1] / "benchmarks" / "serve_load.py")
serve_load = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(serve_load)

LIMITS = ServerLimits(max_body_bytes=256 * 1024, max_n=4, max_queue=16, max_connections=16, read_timeout_s=1.0,
                      generation_timeout_s=20.0, request_timeout_s=60.0)


@pytest.fixture(scope="module")
def server():
    srv = start_server("tiny-random", port=0, max_tokens=8, limits=LIMITS)
    yield srv
    srv.close()


def _addr(server):
    return "127.0.0.1", server.port


def test_every_bad_request_is_refused_while_valid_ones_are_served(server):
    host, port = _addr(server)
    batches_before = server.generator.batches_run
    result = serve_load.run_load(host, port, valid=24, concurrency=4, bad_clients=2, bad_rounds=1,
                                 read_timeout_s=LIMITS.read_timeout_s, max_body_bytes=LIMITS.max_body_bytes,
                                 max_tokens=8)
    assert result["ok"] == 24, result["valid_statuses"]
    assert set(result["bad"]) == set(serve_load.bad_requests(LIMITS.max_body_bytes))
    for kind, entry in result["bad"].items():
        assert entry["refused"] == entry["sent"] == 2, (kind, entry)
        limit = LIMITS.read_timeout_s + 1.5 if kind.startswith("stalled") else 1.5
        assert entry["median_s"] < limit, (kind, entry)
    # bad requests never reached the model: the generate calls are those of the valid requests
    assert server.generator.batches_run - batches_before <= 24
    assert server.generator.in_flight == 0
    status, body = serve_load.post_json(host, port, "/v1/chat/completions", serve_load.valid_body(3, 8))
    assert status == 200 and body["choices"][0]["message"]["content"] is not None


@pytest.mark.parametrize("body, status, says", [
    ({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 10**9}, 400, "maximum context length is 8192"),
    ({"messages": [{"role": "user", "content": "hi"}], "n": 1000}, 400, "n must be between 1 and 4"),
    ({"messages": [{"role": "user", "content": "hi"}], "temperature": -1}, 400, "temperature must be in"),
    ({"messages": [{"role": "user", "content": "hi"}], "top_p": 0}, 400, "top_p must be in (0, 1]"),
    ({"messages": [{"role": "user", "content": "hi"}], "stop": ["a", "b", "c", "d", "e"]}, 400, "at most 4"),
    ({"messages": [{"role": "user", "content": "hi"}], "max_tokens": "ten"}, 400, "max_tokens must be an integer"),
    ({"messages": [{"role": "user", "content": "hi"}], "seed": 1.5}, 400, "seed must be an integer"),
])
def test_request_values_are_checked_with_a_clear_message(server, body, status, says):
    got, payload = serve_load.post_json(*_addr(server), "/v1/chat/completions", body)
    assert got == status and says in payload["error"]["message"], payload


def test_prompt_plus_max_tokens_must_fit_the_context(server):
    host, port = _addr(server)
    prompt = "1 " * 5000            # ~10k tokens: more than tiny-random's 8192
    status, payload = serve_load.post_json(host, port, "/v1/completions", {"prompt": prompt, "max_tokens": 4})
    assert status == 400 and payload["error"]["type"] == "context_length_exceeded"
    assert "shorten it" in payload["error"]["message"]
    fits = "1 " * 2000
    tokens = server._count_tokens([fits])[0]
    status, payload = serve_load.post_json(host, port, "/v1/completions",
                                           {"prompt": fits, "max_tokens": 8192 - tokens + 1})
    assert status == 400 and f"at most {8192 - tokens}" in payload["error"]["message"]
    status, payload = serve_load.post_json(host, port, "/v1/completions", {"prompt": fits, "max_tokens": 2})
    assert status == 200 and payload["usage"]["completion_tokens"] <= 2


def test_a_full_queue_answers_429_at_once_and_a_slow_generation_503(server):
    release = threading.Event()
    real = server.generator.agent.generate

    def blocked(prompts, params, max_time_s=None):
        release.wait(30)
        return real(prompts, params, max_time_s=max_time_s)

    server.generator.agent.generate = blocked
    host, port = _addr(server)
    try:
        results = []
        first = threading.Thread(target=lambda: results.append(serve_load.post_json(
            host, port, "/v1/completions", {"prompt": ["a"] * 4, "n": 4, "max_tokens": 2, "temperature": 1.0})))
        first.start()                    # 16 sequences: the queue is full
        deadline = time.monotonic() + 10
        while server.generator.in_flight < 16 and time.monotonic() < deadline:
            time.sleep(0.02)
        started = time.monotonic()
        status, payload = serve_load.post_json(host, port, "/v1/completions", {"prompt": "b", "max_tokens": 2})
        assert status == 429 and "busy" in payload["error"]["message"] and time.monotonic() - started < 1.0
    finally:
        release.set()
        server.generator.agent.generate = real
    first.join(30)
    assert results and results[0][0] == 200 and len(results[0][1]["choices"]) == 16
    assert server.generator.in_flight == 0


def test_a_request_that_waits_too_long_gets_503_and_is_not_generated():
    limits = ServerLimits(request_timeout_s=0.5, read_timeout_s=1.0)
    srv = start_server("tiny-random", port=0, max_tokens=4, limits=limits)
    release = threading.Event()
    real = srv.generator.agent.generate
    srv.generator.agent.generate = lambda prompts, params, max_time_s=None: (release.wait(30),
                                                                             real(prompts, params))[1]
    try:
        status, payload = serve_load.post_json("127.0.0.1", srv.port, "/v1/completions", {"prompt": "a"})
        assert status == 503 and "longer than 0.5 s" in payload["error"]["message"]
    finally:
        release.set()
        srv.generator.agent.generate = real
        srv.close()


def test_generation_stops_at_its_time_limit():
    from rlvr_gym.agents.base import load_agent

    agent = load_agent("hf:tiny-random")
    started = time.monotonic()
    (replies,) = agent.generate(["count to a million"], SamplingParams(max_tokens=4000, temperature=1.0, seed=0),
                                max_time_s=0.3)
    assert time.monotonic() - started < 3.0
    assert replies[0].extra["finish_reason"] == "length" and replies[0].completion_tokens < 4000


def test_the_queue_bound_counts_sequences():
    class Idle:
        def generate(self, prompts, params, max_time_s=None):
            time.sleep(0.2)
            return [[None] for _ in prompts]

    gen = BatchingGenerator(Idle(), max_queue=4)
    try:
        gen.submit(["a", "b"], SamplingParams(n=2, temperature=1.0))
        with pytest.raises(QueueFull):
            gen.submit(["c"], SamplingParams())
        deadline = time.monotonic() + 5
        while gen.in_flight and time.monotonic() < deadline:
            time.sleep(0.02)
        assert gen.in_flight == 0
        gen.submit(["c"], SamplingParams())
    finally:
        gen.close()


def test_too_many_connections_get_503_and_idle_ones_are_closed_at_the_deadline():
    limits = ServerLimits(max_connections=2, read_timeout_s=1.0)
    srv = start_server("tiny-random", port=0, max_tokens=4, limits=limits)
    try:
        idle = [socket.create_connection(("127.0.0.1", srv.port)) for _ in range(2)]
        time.sleep(0.2)
        status, seconds = serve_load.raw_request("127.0.0.1", srv.port, b"GET /health HTTP/1.1\r\n\r\n", timeout=5)
        assert status == 503 and seconds < 1.0 and srv.stats["dropped"] >= 1
        time.sleep(limits.read_timeout_s + 0.5)       # the idle connections hit the read deadline and are closed
        for sock in idle:
            sock.settimeout(2)
            assert sock.recv(100) == b""              # closed by the server, not by us
            sock.close()
        status, body = serve_load.post_json("127.0.0.1", srv.port, "/v1/completions", {"prompt": "x"})
        assert status == 200
    finally:
        srv.close()


def test_serve_cli_takes_the_limits():
    import argparse

    from rlvr_gym.cli import serve

    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    args = parser.parse_args(["tiny-random", "--max-body-bytes", "1000", "--max-n", "2", "--max-queue", "5",
                              "--read-timeout", "3", "--generation-timeout", "9"])
    limits = serve.limits_from_args(args)
    assert (limits.max_body_bytes, limits.max_n, limits.max_queue, limits.read_timeout_s,
            limits.generation_timeout_s) == (1000, 2, 5, 3.0, 9.0)
    assert json.loads(json.dumps(limits.__dict__))
