"""The phase table and the state schema: one description of the quarter that both engines use."""

import dataclasses

import mesa
import numpy as np

from sim.model import phases, tape
from sim.model.fast_engine import run_batch
from sim.model.mesa_engine import MinilateralModel
from sim.model.scenario_files import load_scenario
from sim.model.trajectory import GROUP_SERIES, MEMBER_SERIES

PHASE_NAMES = ["face_circumstances", "consider_rival_bloc", "view_of_the_group",
               "choose_engagement", "produce_outputs", "consider_exit", "assess_outcome"]


def test_the_quarter_is_the_seven_phases_in_order():
    assert [phase.name for phase in phases.PHASES] == PHASE_NAMES
    assert [phase.scope for phase in phases.PHASES] == [
        "member", "member", "group", "member", "group", "member", "group"]


def test_phases_write_only_declared_state():
    for phase in phases.PHASES:
        for name in phase.writes:
            assert name in phases.VARIABLES, (phase.name, name)
            assert phases.VARIABLES[name].source == "state"
            if phase.scope == phases.MEMBER:
                assert phases.VARIABLES[name].scope == phases.MEMBER, (phase.name, name)


def test_state_names_do_not_shadow_mesa():
    taken = set(dir(mesa.Model)) | set(dir(mesa.Agent))
    assert not taken & set(phases.VARIABLES)


def test_recorded_series_come_from_the_schema():
    assert list(GROUP_SERIES) == [v.name for v in phases.RECORDED_GROUP]
    assert list(MEMBER_SERIES) == [v.name for v in phases.RECORDED_MEMBER]
    trajectory = MinilateralModel("mikta", 1, years=2).run()
    for variable in phases.STATE:
        if variable.recorded:
            assert trajectory.series[variable.name].dtype == np.dtype(variable.dtype)
    for name, scope in phases.INPUTS.items():
        if name in phases.VARIABLES:
            assert phases.VARIABLES[name].scope == scope


def _counting(monkeypatch):
    """Replace the phase table with one that counts how often each phase is applied."""
    calls = {name: 0 for name in PHASE_NAMES}

    def wrap(phase):
        def apply(*state_parameters_inputs):
            calls[phase.name] += 1
            phase.apply(*state_parameters_inputs)
        return dataclasses.replace(phase, apply=apply)

    table = tuple(wrap(phase) for phase in phases.PHASES)
    monkeypatch.setattr(phases, "PHASES", table)
    monkeypatch.setattr(phases, "PHASE", {phase.name: phase for phase in table})
    return calls


def test_both_engines_iterate_the_phase_table(monkeypatch):
    scenario = load_scenario("mikta", years=3)
    calls = _counting(monkeypatch)
    MinilateralModel(scenario, 4).run()
    quarters, members = 12, 5
    for phase in phases.PHASES:
        per_quarter = members if phase.scope == phases.MEMBER else 1
        if not phase.active_only:  # all five are active throughout three calm years
            assert calls[phase.name] == quarters * per_quarter, phase.name
    calls.update(dict.fromkeys(calls, 0))
    run_batch(scenario, [4, 5, 6])
    assert all(count == quarters for count in calls.values()), calls


def test_a_phase_changed_in_the_table_changes_both_engines(monkeypatch):
    """A mechanism is changed in one place: both engines see it."""
    scenario = load_scenario("mikta", years=5)
    before_mesa = MinilateralModel(scenario, 2).run()
    before_fast = run_batch(scenario, [2], record_series=True).trajectories[0]
    original = phases.PHASE["produce_outputs"]

    def silent(m, g, p, x):
        original.apply(m, g, p, x)
        g.outputs = np.zeros_like(np.asarray(g.outputs))

    changed = dataclasses.replace(original, apply=silent)
    table = tuple(changed if phase.name == "produce_outputs" else phase
                  for phase in phases.PHASES)
    monkeypatch.setattr(phases, "PHASES", table)
    monkeypatch.setattr(phases, "PHASE", {phase.name: phase for phase in table})
    after_mesa = MinilateralModel(scenario, 2).run()
    after_fast = run_batch(scenario, [2], record_series=True).trajectories[0]
    assert before_mesa.outputs.sum() > 0 and before_fast.outputs.sum() > 0
    assert after_mesa.outputs.sum() == 0 and after_fast.outputs.sum() == 0
    assert after_mesa.equal(after_fast, 1e-9)[0]


def test_members_who_are_not_active_keep_their_engagement():
    """Active-only phases leave pending and exited members as they were (both engines)."""
    scenario = load_scenario("generic-5", {"members.E.joins": "2020Q1"})  # pending 6 years
    checked = 0
    for one in run_batch(scenario, list(range(60)), record_series=True).trajectories:
        status, engagement = one.upto("status"), one.upto("engagement")
        for t in range(1, len(status)):
            idle = (status[t] != 1) & (status[t - 1] != 1)
            checked += idle.sum()
            assert (engagement[t][idle] == engagement[t - 1][idle]).all()
    assert checked > 0


def test_the_inputs_and_derived_parameters_are_those_declared_with_their_scopes():
    scenario = load_scenario("mikta", years=5)
    model = MinilateralModel(scenario, seed=3)
    n = len(scenario.members)
    assert set(model.inputs) == set(phases.INPUTS)
    for name, values in model.inputs.items():
        assert values.shape == ((20, n) if phases.INPUTS[name] == phases.MEMBER else (20,)), name
    for derived in phases.DERIVED:
        value = getattr(model.run_params, derived.name)
        assert np.shape(value) == ((n,) if derived.scope == phases.MEMBER else ()), derived.name


def test_every_stream_the_phases_read_is_an_input_of_its_name():
    read = {s.name for s in tape.STREAMS if s.read_by == tape.PHASES}
    assert read <= set(phases.INPUTS)
    assert "leaders_activity" not in tape.draw_tape(1, 4, 3).group  # retired: not drawn
