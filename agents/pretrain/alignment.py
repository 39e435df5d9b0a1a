"""Representation alignment for Late-to-Early Training (LET, arXiv 2602.05393): losses, pairings, schedule.

LET adds to the next-token loss of the target M a term that pulls an EARLY layer k of M towards the LAST
layer of a small frozen teacher T, early in training only:

    L_total(s) = L_NLL + lambda(s) * L_align
    L_align    = loss( P(h_M^(k)), h_T^(last) )              T frozen, no gradient
    lambda(s)  = lambda_0 * max(0, (S_stop - s) / S_stop)     then T is released

What is confirmed and what is not (see the spec): negative cosine, lambda_0 = 0.1 and the linear decay are
reported; the projection P (a learned linear map when widths differ) is inferred; k = 3, S_stop and the
"LogSum" variant are unconfirmed, so all of them are settings here.

Losses take ``student`` [..., d] (already projected to the teacher's width), ``teacher`` [..., d] and an
optional boolean ``mask`` [...] of the positions that count, and return a scalar. Register your own with
``ALIGNMENT_LOSSES["name"] = fn`` or pass a callable.
"""

from __future__ import annotations

from typing import Callable

# Layer numbering: 0 = the embedding output, i = the output of decoder block i (1-based), n = the last block
# (Hugging Face's hidden_states[n], which already has the final norm applied). Negative numbers count from
# the end like Python indices into hidden_states (-1 = last).


def _masked_mean(values, mask):
    if mask is None:
        return values.mean()
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp_min(1.0)


def neg_cosine(student, teacher, mask=None):
    """- mean over tokens of cos(student, teacher): the paper's loss (in [-1, 1], -1 = perfectly aligned)."""
    import torch.nn.functional as F  # noqa: PLC0415

    cos = F.cosine_similarity(student.float(), teacher.float(), dim=-1, eps=1e-6)
    return -_masked_mean(cos, mask)


def mse(student, teacher, mask=None):
    """Mean squared error per token, averaged over the feature dimension (scale-sensitive, unlike cosine)."""
    diff = (student.float() - teacher.float()).pow(2).mean(dim=-1)
    return _masked_mean(diff, mask)


def logsum(student, teacher, mask=None, temperature: float = 0.1):
    """Our reading of the paper's "LogSum" variant [unconfirmed: the paper names it without a formula].

    A log-sum-exp (InfoNCE-style) contrast within each sequence: token t's projected state must be more
    cosine-similar to the teacher's state at t than at the other positions of the same sequence:
        - cos(s_t, h_t)/tau + log sum_j exp(cos(s_t, h_j)/tau)
    Unlike neg_cosine it cannot be satisfied by mapping every token to one shared direction.
    """
    import torch  # noqa: PLC0415
    import torch.nn.functional as F  # noqa: PLC0415

    s = F.normalize(student.float(), dim=-1, eps=1e-6)
    h = F.normalize(teacher.float(), dim=-1, eps=1e-6)
    if s.dim() == 2:
        s, h = s.unsqueeze(0), h.unsqueeze(0)
        mask = mask.unsqueeze(0) if mask is not None else None
    logits = torch.einsum("btd,bjd->btj", s, h) / temperature  # [b, t, t]
    if mask is not None:
        logits = logits.masked_fill(~mask.bool().unsqueeze(1), float("-inf"))
    positive = torch.diagonal(logits, dim1=1, dim2=2)
    per_token = torch.logsumexp(logits, dim=-1) - positive
    return _masked_mean(per_token, mask)


ALIGNMENT_LOSSES: dict[str, Callable] = {"neg_cosine": neg_cosine, "mse": mse, "logsum": logsum}


def get_alignment_loss(name_or_fn: str | Callable) -> Callable:
    if callable(name_or_fn):
        return name_or_fn
    try:
        return ALIGNMENT_LOSSES[name_or_fn]
    except KeyError:
        raise ValueError(f"unknown alignment loss {name_or_fn!r}; known: {sorted(ALIGNMENT_LOSSES)} "
                         f"(or pass a callable)") from None


def lambda_schedule(step: int, lambda_0: float, s_stop: int) -> float:
    """lambda(s) = lambda_0 * max(0, (S_stop - s) / S_stop); exactly 0 from S_stop on (and when S_stop <= 0)."""
    if s_stop <= 0 or step >= s_stop:
        return 0.0
    return float(lambda_0) * (s_stop - step) / s_stop


# Named pairings (teacher position -> target position). "early" is ``early_layer``, "middle" half-way,
# "late" the last block.
PAIRINGS = ("late-to-early", "late-to-middle", "late-to-late", "middle-to-early", "early-to-early",
            "middle-to-middle")


def _position(kind: str, n_layers: int, early_layer: int) -> int:
    if kind == "early":
        return min(max(1, early_layer), n_layers)
    if kind == "middle":
        return max(1, (n_layers + 1) // 2)
    if kind == "late":
        return n_layers
    raise ValueError(f"layer position must be early, middle or late, got {kind!r}")


def resolve_pairing(pairing: str, teacher_layers: int, target_layers: int, early_layer: int = 3
                    ) -> list[tuple[int, int]]:
    """(teacher_layer, target_layer) pairs in hidden_states numbering (1..n, see above).

    ``pairing`` is a named pairing (``PAIRINGS``; "late-to-early" is LET's) or explicit pairs
    ``"T:M[,T:M...]"`` with integers (negative counts from the end, e.g. "-1:3"). ``early_layer`` is the
    target's k for named pairings (and the teacher's early layer, clipped to its depth).
    """
    if teacher_layers < 1 or target_layers < 1:
        raise ValueError("both models need at least one layer")
    if pairing in PAIRINGS:
        t_kind, _, m_kind = pairing.partition("-to-")
        return [(_position(t_kind, teacher_layers, early_layer), _position(m_kind, target_layers, early_layer))]
    pairs = []
    for item in pairing.split(","):
        try:
            t_str, m_str = item.split(":")
            t, m = int(t_str), int(m_str)
        except ValueError:
            raise ValueError(f"pairing must be one of {PAIRINGS} or 'T:M[,T:M...]' with integers, got "
                             f"{pairing!r}") from None
        t = t if t >= 0 else teacher_layers + 1 + t
        m = m if m >= 0 else target_layers + 1 + m
        if not (0 <= t <= teacher_layers and 0 <= m <= target_layers):
            raise ValueError(f"pair {item!r} is out of range for {teacher_layers} teacher and {target_layers} "
                             f"target layers")
        pairs.append((t, m))
    return pairs
