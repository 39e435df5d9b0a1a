"""Pieces every trainer here shares (GRPO, LET pretraining, unmasking policies, dLLM pretraining): config fields
that declare their CLI option (``options.py``), learning-rate schedules (``schedules.py``) and PNG plots
(``plots.py``)."""
