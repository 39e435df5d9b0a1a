"""Serving: models behind an OpenAI-compatible HTTP API, for evaluation and for a trainer's rollouts.

``openai_server`` is our small OpenAI-compatible server for a local transformers model (``rlvr serve``), which the
``openai:`` agent and any OpenAI client can talk to. ``vllm_server`` starts (or attaches to) stock vLLM's
OpenAI-compatible server in its own environment (``.venv-vllm``, made by ``scripts/setup_vllm.sh``;
``rlvr serve --engine vllm``) and talks to it with the standard library only: health, models, runtime LoRA
loading and unloading, and completions from prompt token ids that come back as token ids with their logprobs (what
a GRPO trainer needs from a rollout); its ``AdapterSwap`` hot-swaps a trained LoRA adapter into the server under a
fresh name and folder each version, so a sample never comes from a stale adapter. Nothing here imports vllm: the
trainer and the vLLM server may live in different environments and machines.
"""
