"""``rlvr train --rollouts vllm`` without vLLM (agents/grpo/vllm_rollouts.py): the configuration's refusals, the
preflight's server check, and a real GRPO run (TRL, the tiny model) whose rollouts come over HTTP from a small
LoRA-serving server speaking vLLM's shapes: /v1/load_lora_adapter and /v1/unload_lora_adapter load the peft folder
the trainer wrote (transformers + peft, in this process), /v1/completions samples from the named adapter with token-id
prompts and returns token ids and logprobs. It checks the order (publish, then sample with that version; the old
version unloaded), the request TRL's settings make, and that the importance ratio at the first micro-step is ~1.
The real vLLM server runs the same path in tests/test_vllm_training.py (slow)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rlvr_gym.agents.grpo import TrainConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py

TINY = dict(model="tiny-random", peft="lora", lora_r=4, train_size=8, eval_size=0, max_completion_length=6,
            per_device_train_batch_size=4, num_generations=2, max_steps=2, save_steps=10, progress=False,
            plots=False)


# -- configuration -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    (dict(rollouts="vllm"), r"--rollouts vllm needs --vllm-url URL.*rlvr serve smollm2-135m --engine vllm"),
    (dict(rollouts="vllm", vllm_url="http://h:1", peft="full"), r"--peft full trains no adapter.*--vllm colocate"),
    (dict(rollouts="vllm", vllm_url="http://h:1", peft="dora"), r"--peft dora does not make.*lora \| rslora"),
    (dict(rollouts="vllm", vllm_url="localhost:8000"), r"http\(s\)://host:port.*'localhost:8000'"),
    (dict(rollouts="vllm", vllm_url="http://h:1", vllm="colocate"), r"choose one"),
    (dict(vllm_url="http://h:1"), r"--vllm-url applies only to --rollouts vllm"),
    (dict(rollouts="sglang"), r"rollouts must be one of hf, vllm, got 'sglang'"),
])
def test_configuration_refusals_name_what_was_typed(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kwargs).validate()


def test_cli_help_says_full_fine_tuning_goes_to_trls_modes(capsys):
    from rlvr_gym.cli.main import main

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--rollouts {hf,vllm}" in help_text and "--vllm-url URL" in help_text
    assert "--peft full is refused, use --vllm colocate|server for it" in help_text
    assert main(["train", "--rollouts", "vllm", "--peft", "full", "--vllm-url", "http://127.0.0.1:9"]) == 2
    assert "--vllm colocate or --vllm server" in capsys.readouterr().err


def test_auto_server_needs_a_vllm_environment_and_a_rank_vllm_serves(tmp_path, monkeypatch):
    from rlvr_gym.agents.grpo import train
    from rlvr_gym.agents.grpo.vllm_rollouts import lora_rank_slot

    assert [lora_rank_slot(r) for r in (1, 4, 16, 17, 512)] == [1, 8, 16, 32, 512]
    with pytest.raises(ValueError, match="--lora-r 600 is above the largest LoRA rank vLLM serves"):
        lora_rank_slot(600)
    monkeypatch.setenv("RLVR_VLLM_PYTHON", "/no/such/venv/bin/python")
    config = TrainConfig(**{**TINY, "out": str(tmp_path / "run")}, rollouts="vllm", vllm_url="auto")
    with pytest.raises(ValueError, match=r"--vllm-url auto starts a vLLM server, but RLVR_VLLM_PYTHON '/no/such"):
        train(config)
    assert not (tmp_path / "run").exists()


def test_grpo_config_keeps_trls_own_vllm_off_and_dropout_off():
    from rlvr_gym.agents.grpo.config import make_grpo_config

    args = make_grpo_config(TrainConfig(out="/tmp/unused", device="cpu", rollouts="vllm",
                                        vllm_url="http://h:1").validate())
    assert not args.use_vllm and args.disable_dropout and args.vllm_importance_sampling_correction


def test_preflight_names_an_unreachable_server(tmp_path):
    from rlvr_gym.agents.grpo import train

    config = TrainConfig(**{**TINY, "out": str(tmp_path / "run")}, rollouts="vllm", vllm_url="http://127.0.0.1:9")
    with pytest.raises(ValueError, match=r"--vllm-url http://127.0.0.1:9: no vLLM server answers.*rlvr serve"):
        train(config)
    assert not (tmp_path / "run").exists()
    multi = TrainConfig(**{**TINY, "out": str(tmp_path / "mt")}, env=["TemporalClue-Feedback-v0"], rollouts="vllm",
                        vllm_url="http://127.0.0.1:9")
    with pytest.raises(ValueError, match="TemporalClue-Feedback-v0 is a multi-turn env"):
        train(multi)


# -- a small LoRA-serving server in vLLM's HTTP shapes ---------------------------------------------------------------
class LoRAServer:
    """/health, /v1/models, runtime LoRA load/unload and /v1/completions (token-id prompts, n=1, logprobs 0,
    temperature, stop_token_ids, max_tokens), sampling token by token from base + the named peft adapter; the logprob
    of each sampled token is log_softmax(logits / temperature), vLLM's processed logprobs. ``log`` records every
    request as (path, model or adapter name)."""

    def __init__(self, base_dir):
        import torch
        from transformers import AutoModelForCausalLM

        self.torch = torch
        self.base_dir = base_dir
        self.base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32).eval()
        self.adapters: dict[str, object] = {}
        self.log: list[tuple[str, str]] = []
        self.bodies: list[dict] = []
        self.generator = torch.Generator().manual_seed(0)
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, payload):
                raw = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self):
                if self.path == "/health":
                    return self._send(200, "")
                if self.path == "/v1/models":
                    return self._send(200, {"data": [{"id": n} for n in ["base", *server.adapters]]})
                self._send(404, {"error": {"message": "Not Found"}})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    status, payload = server.handle(self.path, body)
                self._send(status, payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def handle(self, path: str, body: dict):
        from peft import PeftModel
        from transformers import AutoModelForCausalLM

        if path == "/v1/load_lora_adapter":
            self.log.append((path, body["lora_name"]))
            if body["lora_name"] in self.adapters:
                return 400, {"error": {"message": "already been loaded"}}
            base = AutoModelForCausalLM.from_pretrained(self.base_dir, dtype=self.torch.float32)
            self.adapters[body["lora_name"]] = PeftModel.from_pretrained(base, body["lora_path"]).eval()
            return 200, "Success"
        if path == "/v1/unload_lora_adapter":
            self.log.append((path, body["lora_name"]))
            if self.adapters.pop(body["lora_name"], None) is None:
                return 404, {"error": {"message": "cannot be found"}}
            return 200, "Success"
        if path == "/v1/completions":
            self.log.append((path, body["model"]))
            self.bodies.append(body)
            model = self.adapters.get(body["model"])
            if model is None:
                return 404, {"error": {"message": f"The model `{body['model']}` does not exist."}}
            choices = [self.sample(model, prompt, body, i) for i, prompt in enumerate(body["prompt"])]
            return 200, {"choices": choices}
        return 404, {"error": {"message": "Not Found"}}

    def sample(self, model, prompt: list[int], body: dict, index: int) -> dict:
        torch = self.torch
        ids, logprobs = list(prompt), []
        stop = set(body.get("stop_token_ids") or [])
        finish = "length"
        with torch.no_grad():
            for _ in range(body["max_tokens"]):
                logits = model(input_ids=torch.tensor([ids])).logits[0, -1].float()
                logp = torch.log_softmax(logits / body["temperature"], dim=-1)
                token = int(torch.multinomial(logp.exp(), 1, generator=self.generator))
                ids.append(token)
                logprobs.append(float(logp[token]))
                if token in stop:
                    finish = "stop"
                    break
        new = ids[len(prompt):]
        return {"index": index, "text": "", "finish_reason": finish, "token_ids": new, "prompt_token_ids": prompt,
                "logprobs": {"tokens": [f"token_id:{t}" for t in new], "token_logprobs": logprobs}}

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def lora_server():
    from rlvr_gym.agents.lm.models import resolve_model

    server = LoRAServer(resolve_model("tiny-random"))
    yield server
    server.close()


def test_a_grpo_run_publishes_then_samples_each_step_from_the_new_adapter(lora_server, tmp_path):
    from rlvr_gym.agents.grpo import train

    config = TrainConfig(**{**TINY, "out": str(tmp_path / "run")}, rollouts="vllm", vllm_url=lora_server.url,
                         temperature=0.9, grpo={"top_k": 5})
    result = train(config)
    assert result.steps == 2
    names = result.rollout_stats["published"]
    assert len(names) == 2 and len(set(names)) == 2 and len(result.rollout_stats["sample_s"]) == 2
    # The server's view, in order: before the first rollout the initial adapter is loaded and sampled from; after the
    # optimizer step the new version is loaded, the old one unloaded, and the next rollout samples the new one; the
    # last version is unloaded when training ends.
    assert lora_server.log == [("/v1/load_lora_adapter", names[0]), ("/v1/completions", names[0]),
                               ("/v1/load_lora_adapter", names[1]), ("/v1/unload_lora_adapter", names[0]),
                               ("/v1/completions", names[1]), ("/v1/unload_lora_adapter", names[1])]
    assert lora_server.adapters == {}
    body = lora_server.bodies[0]
    assert (body["n"], body["max_tokens"], body["temperature"], body["top_k"], body["logprobs"]) == (1, 6, 0.9, 5, 0)
    assert "seed" not in body and body["stop_token_ids"] and len(body["prompt"]) == 4
    assert body["prompt"][0] == body["prompt"][1]  # TRL repeats each prompt num_generations times: n=1 per row
    assert not (tmp_path / "run" / "vllm-adapters").exists()  # retired versions' folders deleted, then the root
    # TRL's importance-sampling metrics: at the first micro-step the server held the trainer's weights.
    first = result.metrics[0]
    assert abs(first["sampling/importance_sampling_ratio/mean"] - 1) < 1e-3, first
    assert first["sampling/sampling_logp_difference/max"] < 1e-3
    assert any("rollouts: vLLM server" in note for note in result.notes)
