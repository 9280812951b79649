"""Claims as paired experiments: file validation, paired effects, verdicts, report."""

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib import image

from sim.errors import InputError
from sim.inference.claims import _judge, load_claims, metrics, run_claims
from sim.inference.verdicts import effect_verdict, paired_effect
from sim.model.keys import DATED_FORMS
from sim.reporting.claims_report import write_claims_report

ROOT = Path(__file__).resolve().parents[1]

SMALL = """
[claims]
name = "small"
scenario = "mikta"
years = 8
replicates = 40
seed = 3
equivalence = { zombie = 0.02, alive = 0.02 }

[[claim]]
id = 1
title = "Secretariat"
statement = "A secretariat keeps the group active."
  [[claim.contrast]]
  name = "secretariat"
  treatment = { "group.secretariat" = true }
  expect = { zombie = "lower" }

[[claim]]
id = 2
title = "Nothing changes"
statement = "An identical treatment does nothing."
  [[claim.contrast]]
  name = "identical"
  treatment = { "group.secretariat" = false }
  expect = { alive = "higher" }
"""


def test_the_claims_file_loads_every_claim():
    suite = load_claims(ROOT / "experiments" / "claims.toml")
    assert [c.id for c in suite.claims] == list(range(1, 10))
    assert all(c.contrasts and c.statement for c in suite.claims)
    african = suite.claims[7].contrasts[0]
    assert len(african.treatment.members) == len(african.baseline.members) + 1


@pytest.mark.parametrize("change, key", [
    (('expect = { zombie = "lower" }', 'expect = { happiness = "lower" }'), "expect.happiness"),
    (('expect = { zombie = "lower" }', 'expect = { zombie = "sideways" }'), "expect.zombie"),
    (("years = 8", "years = 0"), "claims.years"),
    (("replicates = 40", "replicates = 40\nrobustness_replicates = 5"),
     "claims.robustness_replicates"),
    (("replicates = 40", "replicates = 40\nrobustness_replicates = 80"),
     "claims.robustness_replicates"),
    (('"group.secretariat" = true', '"group.nothing" = true'), "group.nothing"),
    (('name = "secretariat"', 'name = "secretariat"\n  colour = 1'), "contrast.colour"),
])
def test_bad_claims_files_name_the_key(tmp_path, change, key):
    path = tmp_path / "claims.toml"
    path.write_text(SMALL.replace(*change))
    with pytest.raises(InputError) as info:
        load_claims(path)
    assert key in str(info.value) and str(path) in str(info.value)


def test_robustness_replicates_default_to_the_replicates_and_yield_to_a_lower_option(tmp_path):
    path = tmp_path / "claims.toml"
    path.write_text(SMALL)
    assert load_claims(path).robustness_first == 40
    path.write_text(SMALL.replace("replicates = 40", "replicates = 40\nrobustness_replicates = 20"))
    assert load_claims(path).robustness_first == 20
    assert load_claims(path, replicates=10).robustness_first == 10


def test_a_bad_claims_file_exits_2(tmp_path):
    path = tmp_path / "claims.toml"
    path.write_text(SMALL.replace("replicates = 40", "replicates = 2"))
    result = subprocess.run([sys.executable, "-m", "sim.cli", "claims", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "claims.replicates" in result.stderr
    assert "Traceback" not in result.stderr


def test_paired_effect_recovers_a_known_shift():
    rng = np.random.default_rng(0)
    baseline = pd.Series(rng.normal(10, 3, 2000))
    treatment = baseline + 0.5 + rng.normal(0, 0.2, 2000)  # paired: shared noise
    effect = paired_effect(baseline, treatment, "total_outputs", 0.95)
    assert effect["low"] < 0.5 < effect["high"] and effect["high"] - effect["low"] < 0.05
    assert effect["discordant"] == 2000 and effect["runs"] == 2000
    assert effect_verdict(effect["low"], effect["high"], "higher", 0.1) == "holds"
    assert effect_verdict(effect["low"], effect["high"], "lower", 0.1) == "reversed"
    assert effect_verdict(effect["low"], effect["high"], "lower", 1.0) == "no measurable effect"


def test_paired_share_effect_counts_discordant_pairs():
    baseline = pd.Series([1.0] * 60 + [0.0] * 40)
    treatment = pd.Series([1.0] * 30 + [0.0] * 70)  # 30 pairs switch from 1 to 0
    effect = paired_effect(baseline, treatment, "dead", 0.95)
    assert effect["effect"] == pytest.approx(-0.30) and effect["discordant"] == 30
    assert effect["baseline"] == 0.6 and effect["treatment"] == 0.3
    assert effect["p"] < 1e-6
    assert effect_verdict(-0.1, 0.1, "lower", 0.02) == "undecided"
    assert effect_verdict(-0.01, 0.015, "lower", 0.02) == "no measurable effect"


def test_identical_arms_are_no_measurable_effect_on_no_discordant_pair():
    same = pd.Series([1.0, 0.0, 1.0, 1.0])
    effect = paired_effect(same, same, "alive", 0.99)
    assert (effect["effect"], effect["low"], effect["high"], effect["discordant"]) == (0, 0, 0, 0)
    assert effect_verdict(effect["low"], effect["high"], "higher", 0.02) == \
        "no measurable effect"


def test_metrics_from_summaries():
    summary = pd.DataFrame({
        "outcome": ["alive", "zombie", "dead"], "death_quarter": [np.nan, np.nan, 39.0],
        "first_zombie_quarter": [np.nan, 20.0, 10.0], "zombie_quarters": [0, 12, 8],
        "total_outputs": [100, 50, 20], "exits": [0, 1, 3], "rival_joins": [0, 1, 2]})
    m = metrics(summary, horizon_quarters=120)
    assert m["active_years"].tolist() == [30.0, 5.0, 2.5]
    assert m["years_to_death"].tolist() == [30.0, 30.0, 10.0]
    assert m["zombie_years"].tolist() == [0.0, 3.0, 2.0]
    assert m[["alive", "zombie", "dead"]].to_numpy().tolist() == np.eye(3).tolist()


def test_verdicts_follow_the_rule():
    from types import SimpleNamespace

    C = SimpleNamespace(id=1, title="t", not_representable="",
                        contrasts=[SimpleNamespace(name="a"), SimpleNamespace(name="b")])

    def effects(verdicts, discordant=(40, 40)):
        return pd.DataFrame({"claim": 1, "contrast": ["a", "b"], "metric": "dead",
                             "expected": "lower", "verdict": verdicts, "runs": 1000,
                             "discordant": list(discordant)})

    assert _judge(C, effects(["holds", "holds"]))["verdict"] == "holds"
    judged = _judge(C, effects(["holds", "no measurable effect"], (40, 3)))
    assert judged["verdict"] == "depends"
    assert judged["condition"] == ("holds for death share in 'a'; no measurable effect for "
                                   "death share in 'b'")
    assert judged["fewest_discordant"] == 3
    judged = _judge(C, effects(["reversed", "reversed"]))
    assert judged["verdict"] == "reversed"
    assert judged["opposite"] == "death share (a); death share (b)"
    assert _judge(C, effects(["holds", "undecided"]))["verdict"] == "undecided"
    C.not_representable = "no form for it"
    judged = _judge(C, effects(["holds", "holds"]))
    assert judged["verdict"] == "not representable" and judged["condition"] == "no form for it"


def test_an_undecided_contrast_gets_more_runs_up_to_the_cap(tmp_path):
    path = tmp_path / "claims.toml"
    path.write_text(SMALL.replace("replicates = 40", "replicates = 20\nmax_replicates = 60")
                    .replace("equivalence = { zombie = 0.02, alive = 0.02 }",
                             "equivalence = { total_outputs = 0.001, alive = 0.02 }")
                    .replace('treatment = { "group.secretariat" = true }\n'
                             '  expect = { zombie = "lower" }',
                             'treatment = { "world.outside_event_rate" = 0.95 }\n'
                             '  expect = { total_outputs = "higher" }'))
    suite = load_claims(path)
    decided = run_claims(suite, workers=1)  # undecided on 20 and 40 pairs, holds on 60
    capped = run_claims(dataclasses.replace(suite, max_replicates=40), workers=1)
    for result, runs, verdict in ((decided, 60, "holds"), (capped, 40, "undecided")):
        effects = result.effects.set_index(["claim", "metric"])
        assert effects.loc[(2, "alive"), "runs"] == 20  # identical arms: decided at once
        assert effects.loc[(1, "total_outputs"), "runs"] == runs
        assert effects.loc[(1, "total_outputs"), "verdict"] == verdict
        verdicts = result.verdicts.set_index("claim")
        assert verdicts.loc[1, "verdict"] == verdict and verdicts.loc[1, "runs"] == str(runs)
        assert verdicts.loc[2, "verdict"] == "no measurable effect"
    # the first 40 pairs are the same runs in both
    assert capped.effects.loc[capped.effects["claim"] == 2, "baseline"].tolist() == \
        decided.effects.loc[decided.effects["claim"] == 2, "baseline"].tolist()


def test_small_suite_is_deterministic_and_reports(tmp_path):
    path = tmp_path / "claims.toml"
    path.write_text(SMALL)
    suite = load_claims(path)
    a, b = run_claims(suite, workers=1), run_claims(suite, workers=2)
    pd.testing.assert_frame_equal(a.effects, b.effects)
    identical = a.effects[(a.effects["claim"] == 2)]
    assert (identical["effect"] == 0).all()  # same seeds, same scenario: no difference at all
    assert a.verdicts.set_index("claim").loc[2, "verdict"] == "no measurable effect"
    report = write_claims_report(suite, a, tmp_path / "out")
    text = report.read_text()
    assert "Claim 1: Secretariat" in text and "Claim 2: Nothing changes" in text
    assert text.startswith("# The sources' claims as paired experiments")
    verdicts = text.split("## Verdicts")[1].split("## Claim 1")[0]
    assert not re.search(r"\b(active_years|zombie_years|total_outputs|rival_joins)\b",
                         verdicts), "verdicts name metrics in words"
    # findings first, with the verdicts counted from claims.csv; provenance last
    assert text.index("## Findings") < text.index("## Verdicts") < text.index(
        "## Appendix: Provenance")
    verdict = a.verdicts.set_index("claim").loc[1, "verdict"]
    counted = ("1 hold (1); 1 with no measurable effect (2)" if verdict == "holds" else
               "2 with no measurable effect (1, 2)" if verdict == "no measurable effect" else
               f"1 {verdict}")
    assert "- Of 2 claims, at the scenario's values (40 to 40 paired runs per arm, 8 years): " \
        f"{counted}" in text
    assert "no discordant pair: the arms are the same runs" in text and "p (Holm)" in text
    assert (tmp_path / "out" / "report.html").is_file()
    for png in (tmp_path / "out" / "figures").glob("*.png"):
        pixels = image.imread(png)
        assert pixels.shape[0] > 200 and pixels.shape[1] > 400
        assert (pixels[..., :3] < 0.9).any(axis=-1).mean() > 0.01  # not blank


def test_summaries_of_parts_join_without_a_warning_when_a_column_is_empty_in_one():
    import warnings

    from sim.model.simulation import joined_summaries

    none_died = pd.DataFrame({"seed": [1, 2], "death_quarter": [None, None]})
    one_died = pd.DataFrame({"seed": [3, 4], "death_quarter": [17, None]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        joined = joined_summaries([none_died, one_died])
    assert joined["seed"].tolist() == [1, 2, 3, 4]
    assert joined["death_quarter"].iloc[2] == 17 and joined["death_quarter"].isna().sum() == 3


def _flat(table, prefix=""):
    out = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


# Changes that are one thing although they touch two keys, and why.
ONE_THING = [
    {"group.secretariat", "group.treaty"},  # the source names the two lifelines together [000]
    {"members.*.turnover", "members.*.reshuffle_rate"},  # the two ways a minister changes (M3)
    {"members.KOR.enthusiasm_mean", "members.KOR.enthusiasm_spread"},  # always enthusiastic
]


DATED_AFTER = {after: name for name, (_, after) in DATED_FORMS.items()}


def test_every_shipped_contrast_changes_one_thing_and_says_why():
    from sim.model.scenario_files import scenario_as_dict

    suite = load_claims("experiments/claims.toml")
    for claim in suite.claims:
        assert claim.decided_by.startswith("M"), claim.id
        for contrast in claim.contrasts:
            assert len(contrast.why) > 40, (claim.id, contrast.name)
            a = _flat(scenario_as_dict(contrast.baseline))
            b = _flat(scenario_as_dict(contrast.treatment))
            changed = {k for k in set(a) | set(b) if a.get(k) != b.get(k)}
            changed -= {"scenario.name", "scenario.title", "scenario.description"}
            codes = {m.code for m in contrast.baseline.members}
            new = {k.split(".")[1] for k in changed if k.startswith("members.")
                   and k.split(".")[1] not in codes}
            things = set()
            for key in changed:
                parts = key.split(".")
                if (parts[0] == "members" and parts[1] in new) or (key == "group.chair_order" \
                        and new):
                    things.add("a new member")  # its values and its place in the rotation
                elif parts[0] == "members" and parts[2] in DATED_AFTER:
                    things.add(f"members.*.{DATED_AFTER[parts[2]]}")  # the trend's dated form
                elif parts[0] == "members" and all(
                        a.get(f"members.{c}.{parts[2]}") != b.get(f"members.{c}.{parts[2]}")
                        for c in codes):
                    things.add(f"members.*.{parts[2]}")
                else:
                    things.add(key)
            assert len(things) == 1 or things in ONE_THING, (claim.id, contrast.name, things)


VARIANT_SUITE = """\
[claims]
equivalence.alive = 0.02
equivalence.zombie = 0.02
equivalence.dead = 0.02
equivalence.active_years = 0.5
equivalence.years_to_death = 0.5
equivalence.zombie_years = 0.25
equivalence.total_outputs = 5.0
equivalence.exits = 0.05
equivalence.rival_joins = 0.05
name = "variants"
scenario = "mikta"
years = 15
replicates = 40
seed = 3

[[claim]]
id = 1
title = "A secretariat under austerity"
  [[claim.contrast]]
  name = "secretariat"
  baseline = { "members.*.budget_trend" = -0.06, "group.secretariat_dues" = 0.3 }
  treatment = { "members.*.budget_trend" = -0.06, "group.secretariat_dues" = 0.3, TREATED }
  expect = { alive = "lower" }

[variants]
"mechanisms.dues" = ["full", "growing"]
""".replace("TREATED", '"group.secretariat" = true')


def test_claims_run_under_each_structural_variant_in_both_arms(tmp_path):
    from sim.inference.claims import run_variants, under_variant

    path = tmp_path / "claims.toml"
    path.write_text(VARIANT_SUITE)
    suite = load_claims(path)
    assert suite.variants == (("mechanisms.dues", "full"), ("mechanisms.dues", "growing"))
    full = under_variant(suite, "mechanisms.dues", "full")
    contrast = full.claims[0].contrasts[0]
    assert contrast.baseline.mechanisms.dues == contrast.treatment.mechanisms.dues == "full"
    assert suite.claims[0].contrasts[0].baseline.mechanisms.dues == "capped"
    table = run_variants(suite)
    assert list(table["variant"]) == ["mechanisms.dues = full", "mechanisms.dues = growing"]
    # the same verdict as a file that writes the variant into both arms by hand
    by_hand = path.read_text().split("[variants]")[0].replace(
        '"group.secretariat_dues" = 0.3 }', '"group.secretariat_dues" = 0.3, '
        '"mechanisms.dues" = "full" }').replace(
        '"group.secretariat" = true }', '"group.secretariat" = true, "mechanisms.dues" = "full" }')
    (tmp_path / "hand.toml").write_text(by_hand)
    hand = run_claims(load_claims(tmp_path / "hand.toml"))
    assert hand.verdicts["verdict"].iloc[0] == table["verdict"].iloc[0]


def test_a_bad_variant_is_refused_with_its_line(tmp_path):
    path = tmp_path / "claims.toml"
    path.write_text(VARIANT_SUITE.replace('["full", "growing"]', '["full", "sometimes"]'))
    with pytest.raises(InputError) as caught:
        load_claims(path)
    assert "sometimes" in str(caught.value) and "growing" in str(caught.value)
    path.write_text(VARIANT_SUITE.replace('"mechanisms.dues" = ["full", "growing"]',
                                          '"group.secretariat" = [true]'))
    with pytest.raises(InputError, match="structural variants"):
        load_claims(path)


def test_screened_values_are_every_numeric_parameters_range_ends_but_the_outcome_rule():
    from sim.inference.screening import OUTCOME_RULE, screened_values
    from sim.model.scenario_files import load_scenario

    values = screened_values(load_scenario("mikta"))
    assert values["group.secretariat_support"] == [0.0, 1.0]
    assert values["group.focus_elasticity"] == [0.0, 3.0]
    assert values["world.crisis_coordination_value"] == [0.0, 10.0]
    assert values["members.*.budget_trend"] == [-1.0, 1.0]
    assert not any(key.endswith(name) for key in values for name in OUTCOME_RULE)
    assert "group.secretariat" not in values  # true/false: a contrast, not a range


def test_the_screening_names_the_parameters_that_flip_a_claim(tmp_path):
    from sim.inference.screening import screen

    path = tmp_path / "claims.toml"
    path.write_text(SMALL)
    result = screen(load_claims(path), runs=20, calibrated={"group.base_rate"})
    assert set(result.table["parameter"]) >= {"group.secretariat_support", "world.rival_pull"}
    flips = result.table[result.table["flips"]]
    assert (flips["verdict"] != flips["at_default"]).all()
    assert set(result.deciding["status"]) <= {"calibrated", "sourced", "unsourced"}
    if "group.base_rate" in set(result.deciding["parameter"]):
        assert (result.deciding.loc[result.deciding["parameter"] == "group.base_rate",
                                    "status"] == "calibrated").all()
    identical = result.table[result.table["claim"] == 2]
    assert (identical["effect"] == 0).all() and not identical["flips"].any()
