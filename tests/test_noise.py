"""The random tape: a pure function of the seed, stable across horizons and group sizes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from sim.model import tape as noise


def all_bytes(tape) -> bytes:
    return b"".join(tape.group[k].tobytes() for k in sorted(tape.group)) + b"".join(
        tape.members[k].tobytes() for k in sorted(tape.members))


def test_same_seed_same_bytes_and_different_seeds_differ():
    a, b, c = noise.draw_tape(42, 120, 5), noise.draw_tape(42, 120, 5), noise.draw_tape(43, 120, 5)
    assert all_bytes(a) == all_bytes(b)
    assert all_bytes(a) != all_bytes(c)


def test_shapes_put_time_first():
    one, many = noise.draw_tape(1, 40, 5), noise.draw_tapes([1, 2, 3], 40, 5)
    assert one.member_stream("budget").shape == (40, 5)
    assert one.group_stream("activity").shape == (40,)
    assert many.member_stream("budget").shape == (40, 3, 5)
    assert many.group_stream("activity").shape == (40, 3)
    assert one.quarters == many.quarters == 40


def test_uniforms_lie_in_the_unit_interval_and_transforms_stay_finite():
    tape = noise.draw_tape(7, 400, 12)
    for stream in tape.members.values():
        assert stream.min() >= 0 and stream.max() < 1
    assert np.isfinite(noise.standard_normal(np.array([0.0, 0.5, 1 - 2**-53]))).all()
    assert noise.exponential_quarters(0.0, 3.0) >= 1


def test_a_longer_horizon_begins_with_the_same_shocks():
    short, long = noise.draw_tape(3, 40, 5), noise.draw_tape(3, 120, 5)
    for name in noise.MEMBER_STREAMS:
        np.testing.assert_array_equal(short.members[name], long.members[name][:40])
    for name in noise.GROUP_STREAMS:
        np.testing.assert_array_equal(short.group[name], long.group[name][:40])


def test_adding_a_member_leaves_the_others_shocks_unchanged():
    five, six = noise.draw_tape(3, 40, 5), noise.draw_tape(3, 40, 6)
    for name in noise.MEMBER_STREAMS:
        np.testing.assert_array_equal(five.members[name], six.members[name][:, :5])


def test_batch_of_tapes_equals_single_tapes():
    batch = noise.draw_tapes([5, 9, 11], 30, 4)
    for r, seed in enumerate([5, 9, 11]):
        one = noise.draw_tape(seed, 30, 4)
        np.testing.assert_array_equal(batch.election_phase[r], one.election_phase)
        for name in noise.MEMBER_STREAMS:
            np.testing.assert_array_equal(batch.members[name][:, r], one.members[name])
        for name in noise.GROUP_STREAMS:
            np.testing.assert_array_equal(batch.group[name][:, r], one.group[name])


def test_the_tape_reads_numpys_default_generator_at_fixed_offsets():
    stream = np.random.default_rng(12).random(noise.MEMBERS_OFFSET + 3 * noise.MEMBER_BLOCK)
    tape = noise.draw_tape(12, 2, 3)
    g, s = len(noise.GROUP_STREAMS), len(noise.MEMBER_STREAMS)
    np.testing.assert_array_equal(tape.group_stream("activity"), stream[0:2 * g:g])
    np.testing.assert_array_equal(tape.election_phase,
                                  stream[noise.ELECTION_OFFSET:noise.ELECTION_OFFSET + 3])
    budget = noise.MEMBER_STREAMS.index("budget")
    for i in range(3):
        block = noise.MEMBERS_OFFSET + i * noise.MEMBER_BLOCK
        np.testing.assert_array_equal(tape.member_stream("budget")[:, i],
                                      stream[block + budget: block + 2 * s: s])


def test_election_phase_does_not_depend_on_the_horizon_or_group_size():
    a, b = noise.draw_tape(8, 4, 3), noise.draw_tape(8, 400, 7)
    np.testing.assert_array_equal(a.election_phase, b.election_phase[:3])
    batch = noise.draw_tapes([8, 9], 4, 3)
    np.testing.assert_array_equal(batch.election_phase[0], a.election_phase)


def test_horizon_and_group_size_beyond_the_tape_are_refused():
    with pytest.raises(ValueError):
        noise.draw_tape(1, noise.MAX_QUARTERS + 1, 3)
    with pytest.raises(ValueError):
        noise.draw_tape(1, 4, 13)


def test_seed_out_of_range_is_refused():
    with pytest.raises(ValueError):
        noise.draw_tape(-1, 4, 3)


@settings(max_examples=200, deadline=None)
@given(st.floats(1e-12, 1 - 1e-12), st.floats(0, 150))
def test_poisson_quantile_matches_scipy(u, mean):
    assert noise.poisson(u, mean) == stats.poisson.ppf(u, mean)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_poisson_of_an_array_equals_poisson_of_each_element(seed):
    rng = np.random.default_rng(seed)
    u, mean = rng.random((6, 5)), rng.random((6, 5)) * 8
    batch = noise.poisson(u, mean)
    for index in np.ndindex(u.shape):
        assert batch[index] == noise.poisson(u[index], mean[index])


def test_poisson_draws_have_the_right_mean():
    u = np.random.default_rng(1).random(20000)
    assert noise.poisson(u, 2.5).mean() == pytest.approx(2.5, rel=0.03)
    assert noise.poisson(u, 500.0).mean() == pytest.approx(500, rel=0.01)


def test_exponential_quarters_are_whole_and_at_least_one():
    u = np.random.default_rng(2).random(20000)
    quarters = noise.exponential_quarters(u, 3.0)
    assert quarters.min() >= 1 and quarters.dtype.kind == "i"
    assert quarters.mean() == pytest.approx(3.0 + 0.5, rel=0.05)  # ceil adds about half


def test_hazard_probability():
    assert noise.hazard_probability(0.0, 0.25) == 0.0
    assert noise.hazard_probability(4.0, 0.25) == pytest.approx(1 - np.exp(-1))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.integers(0, 2**32 + 10), st.integers(0, 2**63 - 1)), min_size=1,
                max_size=5))
def test_vectorized_seeding_equals_numpys_pcg64(seeds):
    for seed, (state, inc) in zip(seeds, noise.pcg64_states(seeds), strict=True):
        expected = np.random.PCG64(seed).state["state"]
        assert (state, inc) == (expected["state"], expected["inc"])


# ------------------------------------------------------------------ an append-only, versioned tape

VERSION_1 = ("activity", "rival_round", "global_crisis", "budget", "crisis_onset",
             "crisis_length", "enthusiasm", "rival_invite", "rival_join")


def test_version_1_streams_keep_their_places():
    first = [s.name for s in noise.STREAMS if not s.key]
    assert tuple(first) == VERSION_1
    assert VERSION_1[:3] == noise.GROUP_STREAMS and VERSION_1[3:] == noise.MEMBER_STREAMS
    keys = [s.key for s in noise.STREAMS if s.key]
    assert len(keys) == len(set(keys)) and all(k > 0 for k in keys)
    assert 1 + len(keys) == noise.TAPE_VERSION


def test_vectorized_seeding_with_a_spawn_key_matches_numpy():
    seeds = [0, 1, 2**32 - 1, 2**32, 2**40 + 7, 2**63 - 1]
    for key in [(1,), (2,), (2**32 - 1,)]:
        for seed, (state, inc) in zip(seeds, noise.pcg64_states(seeds, key), strict=True):
            reference = np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)).state
            assert (state, inc) == (reference["state"]["state"], reference["state"]["inc"])


@pytest.mark.parametrize("scope", ["member", "group"])
def test_a_new_stream_changes_no_existing_draw(monkeypatch, scope):
    seeds = [3, 2**40 + 1, 77]
    before_one, before_many = noise.draw_tape(3, 60, 5), noise.draw_tapes(seeds, 60, 5)
    added = noise.Stream("test_stream", scope, "a stream added in a test", key=9)
    monkeypatch.setattr(noise, "STREAMS", (*noise.STREAMS, added))
    after_one, after_many = noise.draw_tape(3, 60, 5), noise.draw_tapes(seeds, 60, 5)
    for before, after in ((before_one, after_one), (before_many, after_many)):
        for name in VERSION_1[:3]:
            np.testing.assert_array_equal(before.group[name], after.group[name])
        for name in VERSION_1[3:]:
            np.testing.assert_array_equal(before.members[name], after.members[name])
        np.testing.assert_array_equal(before.election_phase, after.election_phase)
    streams = after_many.group if scope == "group" else after_many.members
    new = streams["test_stream"]
    assert new.shape == ((60, 3) if scope == "group" else (60, 3, 5))
    # It is its own generator's: member slot i reads block i of MAX_QUARTERS values.
    own = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seeds[1], spawn_key=(9,))))
    first_slot = own.random(60)
    np.testing.assert_array_equal(new[:, 1] if scope == "group" else new[:, 1, 0], first_slot)
    if scope == "member":
        own.bit_generator.advance(noise.MAX_QUARTERS - 60)
        np.testing.assert_array_equal(new[:, 1, 1], own.random(60))
    single = (after_one.group if scope == "group" else after_one.members)["test_stream"]
    np.testing.assert_array_equal(single, new[:, 0])
