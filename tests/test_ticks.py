"""The tick aligner: ticks among a sensor's samples are interpolated, ticks in a gap or
beyond the samples are not, and the quick test of the usual block decides as the full rule
does."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from processing.detect.ticks import TickAligner, TickBlock

ROLES = ("upper", "lower")


def stream(seed: int) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """Two sensors' 0.1 s batches of jittered 100 Hz samples with gaps, interleaved."""
    rng = np.random.default_rng(seed)
    batches = []
    for role in ROLES:
        dt_s = 0.01 + rng.normal(0.0, 0.001, 3000).clip(-0.009, None)
        dt_s[rng.integers(0, dt_s.size, 6)] = rng.uniform(0.2, 1.5, 6)  # gaps, some too long
        t_s = np.cumsum(dt_s)
        up = rng.normal(size=(t_s.size, 3))
        features = rng.normal(size=(t_s.size, 6))
        cuts = np.searchsorted(t_s, np.arange(0.0, t_s[-1] + 0.1, 0.1))
        for a, b in itertools.pairwise(cuts.tolist()):
            if b > a:
                batches.append((role, t_s[a:b], up[a:b], features[a:b]))
    batches.sort(key=lambda batch: float(batch[1][-1]))
    return batches


def blocks(seed: int) -> list[TickBlock]:
    """Every block the aligner releases for :func:`stream`, then the rest at the end."""
    aligner = TickAligner(ROLES, 6)
    out = []
    for role, t_s, up, features in stream(seed):
        aligner.push(role, t_s, up, features)
        if (block := aligner.release()) is not None:
            out.append(block)
    if (block := aligner.release(final=True)) is not None:
        out.append(block)
    return out


def test_ticks_in_a_gap_have_no_data_and_ticks_among_samples_have() -> None:
    released = blocks(1)
    up = np.concatenate([b.up["upper"] for b in released])
    missing = np.isnan(up).any(axis=1)
    assert 0 < missing.sum() < 0.5 * missing.size


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_quick_test_of_the_usual_block_agrees_with_the_full_rule(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    quick = blocks(seed)
    monkeypatch.setattr(TickAligner, "_among_samples", lambda *_: False)
    full = blocks(seed)
    assert len(quick) == len(full)
    for a, b in zip(quick, full, strict=True):
        assert a.index.tobytes() == b.index.tobytes()
        for role in ROLES:
            assert a.up[role].tobytes() == b.up[role].tobytes()
            assert a.features[role].tobytes() == b.features[role].tobytes()
