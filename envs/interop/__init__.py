"""rlvr-gym environments inside other engines: verl (``verl.py``: dataset rows and the custom reward function) and
Prime Intellect's verifiers (``verifiers_env.py``: a taskset whose reward is the env's own). Each adapter reaches
the env's reward through ``make_env`` and ``grade_text`` (envs/text_env.py) and nothing else, and imports its
engine's package only where it is needed."""
