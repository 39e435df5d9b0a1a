"""Serving models over HTTP: ``openai_server.py`` is an OpenAI-compatible server for a local transformers model
(``rlvr serve``), which the ``openai:`` agent and any OpenAI client can talk to."""
