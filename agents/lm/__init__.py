"""Language-model plumbing shared by the model agents and the trainers: which model a name means and loading it
(``models.py``: the embedded SmolLM2, tiny-random, local dirs, hub names; ``load_model``), and sampling
parameters with the agent-spec option parsing (``sampling.py``)."""
