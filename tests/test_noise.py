"""The random tape: a pure function of the seed, stable across horizons and group sizes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from sim import noise


def test_same_seed_same_bytes_and_different_seeds_differ():
    a = noise.draw_tape(42, 120, 5)
    b = noise.draw_tape(42, 120, 5)
    c = noise.draw_tape(43, 120, 5)
    assert a.group.tobytes() == b.group.tobytes()
    assert a.members.tobytes() == b.members.tobytes()
    assert a.members.tobytes() != c.members.tobytes()


def test_uniforms_lie_strictly_inside_the_unit_interval():
    tape = noise.draw_tape(7, 400, 12)
    assert tape.members.min() > 0 and tape.members.max() < 1
    assert np.isfinite(noise.standard_normal(tape.members)).all()


def test_a_longer_horizon_begins_with_the_same_shocks():
    short, long = noise.draw_tape(3, 40, 5), noise.draw_tape(3, 120, 5)
    np.testing.assert_array_equal(short.members, long.members[:40])
    np.testing.assert_array_equal(short.group, long.group[:40])


def test_adding_a_member_leaves_the_others_shocks_unchanged():
    five, six = noise.draw_tape(3, 40, 5), noise.draw_tape(3, 40, 6)
    np.testing.assert_array_equal(five.members, six.members[:, :5])


def test_batch_of_tapes_equals_single_tapes():
    batch = noise.draw_tapes([5, 9, 11], 30, 4)
    for r, seed in enumerate([5, 9, 11]):
        one = noise.draw_tape(seed, 30, 4)
        np.testing.assert_array_equal(batch.members[r], one.members)
        np.testing.assert_array_equal(batch.group[r], one.group)


def test_seed_out_of_range_is_refused():
    with pytest.raises(ValueError):
        noise.draw_tape(-1, 4, 3)


@settings(max_examples=200, deadline=None)
@given(st.floats(1e-12, 1 - 1e-12), st.floats(0, 150))
def test_poisson_quantile_matches_scipy(u, mean):
    assert noise.poisson(u, mean) == stats.poisson.ppf(u, mean)


def test_poisson_draws_have_the_right_mean():
    u = noise.draw_tape(1, 20000, 1).group_stream("activity")
    assert noise.poisson(u, 2.5).mean() == pytest.approx(2.5, rel=0.03)
    assert noise.poisson(u, 500.0).mean() == pytest.approx(500, rel=0.01)


def test_exponential_quarters_are_whole_and_at_least_one():
    u = noise.draw_tape(2, 20000, 1).member_stream("crisis_length")[:, 0]
    quarters = noise.exponential_quarters(u, 3.0)
    assert quarters.min() >= 1 and quarters.dtype.kind == "i"
    assert quarters.mean() == pytest.approx(3.0 + 0.5, rel=0.05)  # ceil adds about half


def test_hazard_probability():
    assert noise.hazard_probability(0.0, 0.25) == 0.0
    assert noise.hazard_probability(4.0, 0.25) == pytest.approx(1 - np.exp(-1))
