"""Angle geometry helpers."""

from __future__ import annotations

import numpy as np

from processing.detect.angles import lengths, unit


def test_lengths_are_numpys_norms_to_the_last_bit() -> None:
    rng = np.random.default_rng(4)
    rows = rng.normal(size=(500, 3)) * 10.0 ** rng.uniform(-6, 6, (500, 1))
    rows[7] = np.nan
    assert lengths(rows).tobytes() == np.linalg.norm(rows, axis=1).tobytes()
    assert lengths(rows[::3]).tobytes() == np.linalg.norm(rows[::3], axis=1).tobytes()
    assert lengths(rows[0]).tobytes() == np.linalg.norm(rows[0], axis=-1).tobytes()
    expected = rows[1] / np.linalg.norm(rows[1], axis=-1, keepdims=True)
    assert unit(rows[1]).tobytes() == expected.tobytes()


def test_a_unit_vector_has_length_one_and_a_zero_vector_stays_zero() -> None:
    vectors = np.array([[3.0, 4.0, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(unit(vectors), [[0.6, 0.8, 0.0], [0.0, 0.0, 0.0]])
