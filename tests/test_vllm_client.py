"""agents/serving/vllm_server.py without vLLM: the client's requests, parsing and errors against a small stdlib
HTTP stub that answers in vLLM's JSON shapes, the server's command line and environment, the process life cycle
(with a stand-in server process), and the adapter-swap naming. The real server is tested in test_vllm_server.py
(slow; needs .venv-vllm)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rlvr_gym.agents.serving.vllm_server import (
    AdapterSwap,
    VLLMClient,
    VLLMEnvironmentError,
    VLLMServer,
    VLLMServerConfig,
    VLLMServerError,
    build_command,
    build_env,
    resolve_vllm_python,
    root_url,
)


class StubVLLM:
    """Answers like vLLM 0.32's OpenAI server: /health, /v1/models, runtime LoRA load/unload (plain-text success,
    JSON errors), /v1/completions with token-id prompts (choices prompt-major, tokens as 'token_id:N')."""

    def __init__(self, *, drop_token_ids: bool = False, delay_s: float = 0.0):
        self.base = "base-model"
        self.loras: dict[str, str] = {}
        self.bodies: list[dict] = []
        self.drop_token_ids = drop_token_ids
        self.delay_s = delay_s
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, payload):
                raw = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _error(self, status, message):
                self._send(status, {"error": {"message": message, "type": "NotFoundError", "code": status}})

            def do_GET(self):
                if self.path == "/health":
                    return self._send(200, "")
                if self.path == "/v1/models":
                    ids = [stub.base, *stub.loras]
                    return self._send(200, {"object": "list", "data": [{"id": i} for i in ids]})
                self._error(404, "Not Found")

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.bodies.append(body)
                if self.path == "/v1/load_lora_adapter":
                    if body["lora_name"] in stub.loras:
                        return self._error(400, f"The lora adapter '{body['lora_name']}' has already been loaded.")
                    stub.loras[body["lora_name"]] = body["lora_path"]
                    return self._send(200, f"Success: LoRA adapter '{body['lora_name']}' added successfully.")
                if self.path == "/v1/unload_lora_adapter":
                    if stub.loras.pop(body["lora_name"], None) is None:
                        return self._error(404, f"The lora adapter '{body['lora_name']}' cannot be found.")
                    return self._send(200, "Success")
                if self.path == "/v1/completions":
                    time.sleep(stub.delay_s)
                    if body["model"] not in (stub.base, *stub.loras):
                        return self._error(404, f"The model `{body['model']}` does not exist.")
                    return self._send(200, stub.completions(body))
                self._error(404, "Not Found")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def completions(self, body: dict) -> dict:
        choices = []
        for i, prompt in enumerate(body["prompt"]):
            for j in range(body.get("n", 1)):
                # Sample j of prompt i: tokens 100*i + 10*j + k, the last one None-logprob'd when k == 2.
                ids = [100 * i + 10 * j + k for k in range(min(3, body["max_tokens"]))]
                logps = [-0.5 * (k + 1) if k != 2 else None for k in range(len(ids))]
                choice = {"index": i * body.get("n", 1) + j, "text": "x" * len(ids), "finish_reason": "length",
                          "logprobs": {"tokens": [f"token_id:{t}" for t in ids], "token_logprobs": logps},
                          "prompt_token_ids": prompt}
                if not self.drop_token_ids:
                    choice["token_ids"] = ids
                choices.append(choice)
        choices.reverse()  # the client must order by index, not by position
        return {"object": "text_completion", "model": body["model"], "choices": choices}

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def stub():
    s = StubVLLM()
    yield s
    s.close()


# -- client -------------------------------------------------------------------------------------------------------
def test_root_url_accepts_base_and_v1_urls_and_refuses_others():
    assert root_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000"
    assert root_url("http://127.0.0.1:8000/v1/") == "http://127.0.0.1:8000"
    assert root_url("https://h/prefix/v1") == "https://h/prefix"
    for bad in ("localhost:8000", "ftp://h", "", 8000):
        with pytest.raises(ValueError, match="http"):
            root_url(bad)


def test_complete_sends_token_ids_with_logprob_options_and_groups_samples_prompt_major(stub):
    client = VLLMClient(stub.url + "/v1")
    groups = client.complete([[1, 2, 3], [4, 5]], n=2, max_tokens=3, temperature=0.7, top_p=0.9, seed=11,
                             stop_token_ids=[2])
    body = stub.bodies[-1]
    assert body["prompt"] == [[1, 2, 3], [4, 5]] and body["model"] == "base-model"  # the server's first model
    assert body["logprobs"] == 0 and body["return_tokens_as_token_ids"] is True and body["return_token_ids"] is True
    assert (body["n"], body["max_tokens"], body["temperature"], body["top_p"]) == (2, 3, 0.7, 0.9)
    assert body["seed"] == 11 and body["stop_token_ids"] == [2] and "top_k" not in body
    assert [[c.token_ids for c in g] for g in groups] == [[[0, 1, 2], [10, 11, 12]], [[100, 101, 102], [110, 111, 112]]]
    first = groups[0][0]
    assert first.logprobs[:2] == [-0.5, -1.0] and math.isnan(first.logprobs[2])  # a missing logprob is NaN
    assert first.finish_reason == "length" and first.text == "xxx"


def test_complete_reads_ids_from_logprob_tokens_when_token_ids_are_absent():
    stub = StubVLLM(drop_token_ids=True)
    try:
        groups = VLLMClient(stub.url).complete([[7]], n=3, max_tokens=2, model="base-model", top_k=5)
        assert [c.token_ids for c in groups[0]] == [[0, 1], [10, 11], [20, 21]]
        assert stub.bodies[-1]["top_k"] == 5
    finally:
        stub.close()


def test_lora_load_unload_and_models(stub):
    client = VLLMClient(stub.url)
    client.load_lora("a", "/tmp/a")  # vLLM answers plain text on success
    assert client.models() == ["base-model", "a"]
    assert stub.bodies[-1] == {"lora_name": "a", "lora_path": "/tmp/a"}
    with pytest.raises(VLLMServerError, match=r"loading LoRA adapter 'a' from /tmp/a2 at .*: HTTP 400: .*already"):
        client.load_lora("a", "/tmp/a2")
    client.unload_lora("a")
    with pytest.raises(VLLMServerError, match="unloading LoRA adapter 'a'.*404.*cannot be found") as info:
        client.unload_lora("a")
    assert info.value.status == 404
    with pytest.raises(ValueError, match="name"):
        client.load_lora("", "/tmp/a")


def test_errors_name_the_url_and_what_failed(stub):
    client = VLLMClient(stub.url)
    with pytest.raises(VLLMServerError, match=rf"sampling 1 prompt\(s\) x 1 from model 'nope' at {stub.url}/v1/completions"
                                              r" failed: HTTP 404: The model `nope` does not exist"):
        client.complete([[1]], model="nope")
    dead = VLLMClient("http://127.0.0.1:9")  # nothing listens on the discard port
    assert dead.health() is False
    with pytest.raises(VLLMServerError, match=r"listing models at http://127.0.0.1:9/v1/models failed: "):
        dead.models()


def test_requests_time_out_with_a_clear_message():
    stub = StubVLLM(delay_s=2.0)
    try:
        client = VLLMClient(stub.url, timeout_s=0.3, model="base-model")
        with pytest.raises(VLLMServerError, match=r"no answer within 0.3 s"):
            client.complete([[1]])
    finally:
        stub.close()


@pytest.mark.parametrize("kwargs, match", [
    (dict(prompt_token_ids=[]), "non-empty list of token-id lists"),
    (dict(prompt_token_ids="hello"), "non-empty list of token-id lists"),
    (dict(prompt_token_ids=[[1, "a"]]), "prompt 0 holds 'a'"),
    (dict(prompt_token_ids=[[1], []]), "prompt 1 must be a non-empty list"),
    (dict(prompt_token_ids=[[1]], n=0), "n must be"),
    (dict(prompt_token_ids=[[1]], max_tokens=0), "max_tokens must be"),
    (dict(prompt_token_ids=[[1]], temperature=-1), "temperature must be"),
    (dict(prompt_token_ids=[[1]], top_p=0), "top_p must be"),
    (dict(prompt_token_ids=[[1]], top_k=-2), "top_k must be"),
])
def test_bad_sampling_input_names_what_was_given(stub, kwargs, match):
    with pytest.raises(ValueError, match=match):
        VLLMClient(stub.url, model="base-model").complete(**kwargs)


def test_malformed_answers_are_refused():
    client = VLLMClient("http://127.0.0.1:1")
    prompts = [[1, 2]]
    good = {"index": 0, "token_ids": [5, 6], "logprobs": {"token_logprobs": [-1.0, -2.0]}, "prompt_token_ids": [1, 2]}
    assert client._parse_completions({"choices": [good]}, prompts, 1, "t")[0][0].token_ids == [5, 6]
    with pytest.raises(VLLMServerError, match="expected 2 choices, got 1"):
        client._parse_completions({"choices": [good]}, prompts, 2, "t")
    with pytest.raises(VLLMServerError, match="2 token ids but 1 logprobs"):
        client._parse_completions({"choices": [{**good, "logprobs": {"token_logprobs": [-1.0]}}]}, prompts, 1, "t")
    with pytest.raises(VLLMServerError, match="no logprobs"):
        client._parse_completions({"choices": [{**good, "logprobs": None}]}, prompts, 1, "t")
    with pytest.raises(VLLMServerError, match="answers another prompt"):
        client._parse_completions({"choices": [{**good, "prompt_token_ids": [9]}]}, prompts, 1, "t")
    with pytest.raises(VLLMServerError, match="token_id:N"):
        client._parse_completions({"choices": [{"index": 0, "logprobs": {"tokens": ["hi"], "token_logprobs": [0.0]}}]},
                                  prompts, 1, "t")


# -- adapter swap -------------------------------------------------------------------------------------------------
def _save_adapter(marker: str):
    def save(folder: Path) -> None:
        folder.mkdir(parents=True)
        (folder / "adapter_config.json").write_text(json.dumps({"marker": marker}))
    return save


def test_adapter_swap_gives_every_version_a_fresh_name_and_folder_and_retires_the_old_one(stub, tmp_path):
    client = VLLMClient(stub.url)
    swap = AdapterSwap(client, tmp_path / "adapters", run_id="r1")
    first = swap.publish(_save_adapter("v1"))
    assert first == "policy-r1-v1" and stub.loras == {first: str((tmp_path / "adapters" / first).resolve())}
    second = swap.publish(_save_adapter("v2"))
    assert second == "policy-r1-v2" and list(stub.loras) == [second]  # loaded, then the previous unloaded
    assert [b.get("lora_name") for b in stub.bodies] == [first, second, first]  # load v2 before unloading v1
    assert not (tmp_path / "adapters" / first).exists() and (tmp_path / "adapters" / second).is_dir()
    assert swap.history == [first, second] and swap.current == second
    swap.close()
    assert stub.loras == {} and not (tmp_path / "adapters" / second).exists()
    swap.close()  # twice is fine


def test_two_swaps_on_one_server_never_share_a_name(stub, tmp_path):
    a, b = AdapterSwap(VLLMClient(stub.url), tmp_path), AdapterSwap(VLLMClient(stub.url), tmp_path)
    assert a.run_id != b.run_id
    assert a.publish(_save_adapter("a")) != b.publish(_save_adapter("b"))
    assert len(stub.loras) == 2


def test_adapter_swap_refuses_a_save_that_writes_no_adapter_and_a_used_folder(stub, tmp_path):
    swap = AdapterSwap(VLLMClient(stub.url), tmp_path, run_id="x", keep_folders=True)
    with pytest.raises(FileNotFoundError, match="adapter_config.json"):
        swap.publish(lambda folder: folder.mkdir())
    assert stub.loras == {} and swap.current is None
    (tmp_path / "policy-x-v2").mkdir()  # the failed version's number is used up: the next one is v2
    with pytest.raises(FileExistsError, match="policy-x-v2 already exists"):
        swap.publish(_save_adapter("again"))
    assert swap.publish(_save_adapter("then")) == "policy-x-v3" and list(stub.loras) == ["policy-x-v3"]
    with pytest.raises(TypeError, match="callable"):
        swap.publish("/some/folder")
    with pytest.raises(ValueError, match="prefix"):
        AdapterSwap(VLLMClient(stub.url), tmp_path, prefix="a/b")


# -- command line, environment, python ------------------------------------------------------------------------------
def _flag(cmd: list[str], name: str) -> str:
    return cmd[cmd.index(name) + 1]


def test_command_line_carries_the_stack_facts():
    cfg = VLLMServerConfig(model="/models/m", served_name="m", dtype="bfloat16", kv_cache_gib=2, max_loras=3,
                           api_key="k", extra_args=("--enforce-eager",))
    cmd = build_command(cfg, "/venv/bin/python", 8123)
    assert cmd[:3] == ["/venv/bin/python", "-m", "vllm.entrypoints.openai.api_server"]
    assert _flag(cmd, "--model") == "/models/m" and _flag(cmd, "--served-model-name") == "m"
    assert _flag(cmd, "--port") == "8123" and _flag(cmd, "--dtype") == "bfloat16"
    assert _flag(cmd, "--kv-cache-memory-bytes") == str(2 * 1024**3)
    assert _flag(cmd, "--logprobs-mode") == "processed_logprobs"
    assert "--enable-lora" in cmd and _flag(cmd, "--max-lora-rank") == "16" and _flag(cmd, "--max-loras") == "3"
    assert _flag(cmd, "--api-key") == "k" and cmd[-1] == "--enforce-eager"
    plain = build_command(VLLMServerConfig(model="/m", enable_lora=False, max_model_len=None), "py", 1)
    assert "--enable-lora" not in plain and "--max-model-len" not in plain and _flag(plain, "--served-model-name") == "/m"


def test_environment_sets_lora_updating_and_one_unpinned_thread_and_drops_our_venv():
    base = {"PATH": "/usr/bin", "PYTHONPATH": "/ours", "VIRTUAL_ENV": "/work/.venv", "OMP_NUM_THREADS": "8"}
    env = build_env(VLLMServerConfig(model="/m"), base)
    assert env["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] == "True"
    assert env["VLLM_CPU_OMP_THREADS_BIND"] == "nobind" and env["OMP_NUM_THREADS"] == "1"
    assert "PYTHONPATH" not in env and "VIRTUAL_ENV" not in env and env["PATH"] == "/usr/bin"
    own = build_env(VLLMServerConfig(model="/m", threads=None, enable_lora=False, extra_env={"X": "1"}), {})
    assert "VLLM_CPU_OMP_THREADS_BIND" not in own and "VLLM_ALLOW_RUNTIME_LORA_UPDATING" not in own
    assert own["X"] == "1"


@pytest.mark.parametrize("kwargs, match", [
    (dict(model=""), "model must be"),
    (dict(model="m", port=70000), "port must be"),
    (dict(model="m", dtype="fp32"), "dtype must be one of"),
    (dict(model="m", max_lora_rank=12), "max_lora_rank must be one of"),
    (dict(model="m", max_loras=0), "max_loras must be"),
    (dict(model="m", kv_cache_gib=0), "kv_cache_gib must be"),
    (dict(model="m", threads=0), "threads must be"),
    (dict(model="m", logprobs_mode="raw"), "logprobs_mode must be one of"),
    (dict(model="m", max_model_len=4), "max_model_len must be"),
])
def test_bad_configuration_names_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        VLLMServerConfig(**kwargs)


def test_vllm_python_lookup(monkeypatch, tmp_path):
    with pytest.raises(VLLMEnvironmentError, match="the vLLM python '/nope/python' does not exist.*setup_vllm.sh"):
        resolve_vllm_python("/nope/python")
    monkeypatch.setenv("RLVR_VLLM_PYTHON", "/also/nope")
    with pytest.raises(VLLMEnvironmentError, match="RLVR_VLLM_PYTHON '/also/nope' does not exist"):
        resolve_vllm_python()
    monkeypatch.setenv("RLVR_VLLM_PYTHON", sys.executable)
    assert resolve_vllm_python() == Path(sys.executable)
    monkeypatch.delenv("RLVR_VLLM_PYTHON")
    monkeypatch.setattr("rlvr_gym.agents.serving.vllm_server.default_vllm_pythons", lambda: [tmp_path / "none"])
    with pytest.raises(VLLMEnvironmentError, match="no vLLM environment found"):
        resolve_vllm_python()


# -- process life cycle (a stand-in server process; the real one is in test_vllm_server.py) -------------------------
STAND_IN = textwrap.dedent('''\
    # Stands in for `python -m vllm.entrypoints.openai.api_server ...`: spawns a worker (as vLLM does), answers
    # /health after a moment, or exits at once with an error when asked to.
    import subprocess, sys, time
    from http.server import BaseHTTPRequestHandler, HTTPServer
    args = sys.argv[1:]
    if "--fail" in args:
        print("ValueError: a made-up start-up failure", flush=True)
        sys.exit(3)
    port = int(args[args.index("--port") + 1])
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    print(f"worker {worker.pid}", flush=True)
    time.sleep(0.5)
    class H(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
        def log_message(self, *a):
            pass
    HTTPServer(("127.0.0.1", port), H).serve_forever()
''')


def _stand_in_python(tmp_path: Path) -> Path:
    """An executable that runs the stand-in whatever module it is asked for (like `python -m vllm...`)."""
    script = tmp_path / "stand_in.py"
    script.write_text(STAND_IN)
    exe = tmp_path / "python"
    exe.write_text(f"#!/bin/sh\nshift 2\nexec {sys.executable} {script} \"$@\"\n")  # drop '-m MODULE'
    exe.chmod(0o755)
    return exe


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process-group checks read /proc")
def test_server_starts_waits_for_health_and_stops_its_whole_process_group(tmp_path):
    log = tmp_path / "server.log"
    server = VLLMServer(VLLMServerConfig(model="/m", served_name="m"), python=_stand_in_python(tmp_path),
                        log_file=log, startup_timeout_s=180)
    with server:
        assert server.running and server.url == f"http://127.0.0.1:{server.port}/v1"
        assert server.client().health()
        leader = server.process.pid
        deadline = time.monotonic() + 10
        while "worker" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        worker = int(log.read_text().split("worker ")[1].split()[0])
        assert _alive(leader) and _alive(worker)
    assert not server.running and not _alive(leader) and not _alive(worker)  # the spawned worker went too
    assert log.read_text().startswith("$ ")  # the command line heads the log
    server.stop()  # idempotent


def test_server_stops_on_an_exception_inside_the_block(tmp_path):
    server = VLLMServer(VLLMServerConfig(model="/m"), python=_stand_in_python(tmp_path), startup_timeout_s=180)
    with pytest.raises(RuntimeError, match="boom"):
        with server:
            leader = server.process.pid
            raise RuntimeError("boom")
    assert not _alive(leader)


def test_a_server_that_dies_while_starting_is_reported_with_its_log(tmp_path):
    server = VLLMServer(VLLMServerConfig(model="/m", extra_args=("--fail",)), python=_stand_in_python(tmp_path),
                        startup_timeout_s=180)
    with pytest.raises(VLLMServerError, match=r"(?s)exited with code 3 while starting.*made-up start-up failure"):
        server.start()
    assert server.process is None


def test_a_server_that_never_answers_times_out_and_is_stopped(tmp_path):
    exe = tmp_path / "python"
    exe.write_text(f"#!/bin/sh\necho still loading\nexec {sys.executable} -c 'import time; time.sleep(600)'\n")
    exe.chmod(0o755)
    server = VLLMServer(VLLMServerConfig(model="/m"), python=exe, startup_timeout_s=1.5)
    started = time.monotonic()
    with pytest.raises(VLLMServerError, match=r"(?s)did not answer .*/health within 1.5 s.*still loading"):
        server.start()
    assert time.monotonic() - started < 20 and server.process is None


def test_attach_to_a_running_server_and_to_nothing(stub):
    server = VLLMServer.attach(stub.url + "/v1", timeout_s=5)
    assert server.url == stub.url + "/v1" and server.running
    assert server.client().complete([[1]], max_tokens=1)[0][0].token_ids == [0]
    server.stop()  # never stops a server it did not start
    assert server.client().health()
    with pytest.raises(VLLMServerError, match="no vLLM server answers at http://127.0.0.1:9/health"):
        VLLMServer.attach("http://127.0.0.1:9", timeout_s=0.5)


def test_cli_serve_keeps_engine_options_apart(capsys):
    from rlvr_gym.cli.main import main

    assert main(["serve", "m", "--engine", "vllm", "--batch-size", "3"]) == 2
    assert "--batch-size applies only to --engine hf" in capsys.readouterr().err
    assert main(["serve", "m", "--dtype", "bfloat16", "--kv-cache-gib", "2"]) == 2
    assert "--dtype, --kv-cache-gib apply only to --engine vllm" in capsys.readouterr().err


def test_importing_the_serving_module_loads_no_heavy_stack():
    code = ("import sys, rlvr_gym.agents.serving.vllm_server, rlvr_gym.cli.serve; "
            "print([m for m in ('torch', 'transformers', 'vllm') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert out.stdout.strip() == "[]", out.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process-group checks read /proc")
@pytest.mark.parametrize("stop_signal", ["SIGINT", "SIGTERM"])
def test_rlvr_serve_engine_vllm_stops_the_server_group_on_ctrl_c_and_sigterm(tmp_path, stop_signal):
    import signal

    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    log = tmp_path / "server.log"
    cmd = [sys.executable, "-m", "rlvr_gym.cli.main", "serve", str(model), "--engine", "vllm", "--port", "0",
           "--vllm-python", str(_stand_in_python(tmp_path)), "--log-file", str(log), "--startup-timeout", "30"]
    # SIGINT at its default in the child even when this suite runs in the background (see test_interrupts.py)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if "Ctrl-C stops" in line or not line:
                break
        assert "vLLM serving" in "".join(lines), "".join(lines)
        worker = int(log.read_text().split("worker ")[1].split()[0])
        assert _alive(worker)
        proc.send_signal(getattr(signal, stop_signal))
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and "stopping the vLLM server" in rest, rest
    assert not _alive(worker)
