"""One calibration pipeline: one case is a joint calibration with one case; the retired
single-record form is refused with what replaced it; every calibration writes report.md."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.errors import InputError
from sim.inference.calibration import long_run_seeds
from sim.inference.joint import load_joint
from sim.inference.joint_fit import calibrate_joint

ROOT = Path(__file__).resolve().parents[1]
MIKTA = ROOT / "experiments" / "mikta-calibration.toml"

ONE_CASE = """
[calibration]
name = "one"
cases = ["mikta"]
method = "rejection"
draws = 60
accept = 0.1
seed = 7
predictive_runs = 2
[priors]
"group.base_rate" = { min = 1.0, max = 8.0 }
"group.standby" = { min = 0.0, max = 0.3 }
"""

RETIRED = """
[calibration]
scenario = "mikta"
draws = 100
[targets]
statements = "../seeds/mikta_joint_statements.csv"
observed_from = "2014-01-01"
observed_until = "2018-05-15"
[priors]
"group.base_rate" = { min = 1.0, max = 8.0 }
"""


def minilat(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim.cli", *map(str, args)],
                          capture_output=True, text=True)


def test_the_shipped_mikta_calibration_is_a_calibration_with_one_case():
    calibration = load_joint(MIKTA)
    assert [c.record.name for c in calibration.cases] == ["mikta"]
    assert calibration.method == "rejection" and calibration.draws == 40_000
    assert len(calibration.priors) == 9
    # MIKTA's joint statements of Table 1 are among its record's activity
    assert calibration.cases[0].observed["mikta:ministers:2016"] >= 1


@pytest.mark.parametrize("text, key", [
    (RETIRED, "targets"),
    (RETIRED.split("[targets]")[0] + "[priors]\n\"group.base_rate\" = { min = 1.0, max = 8.0 }\n",
     "calibration.scenario"),
])
def test_the_retired_single_record_form_is_refused_with_what_replaced_it(tmp_path, text, key):
    path = tmp_path / "old.toml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_joint(path)
    message = str(info.value)
    assert str(path) in message and f"`{key}`" in message
    assert 'cases = ["mikta"]' in message and "mikta-calibration.toml" in message
    done = minilat("calibrate", path, "--workers", "1", "--out", tmp_path / "out")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "retired single-record form" in done.stderr
    assert not (tmp_path / "out").exists()


def test_one_case_goes_through_the_joint_fit_and_its_report(tmp_path):
    path, out = tmp_path / "one.toml", tmp_path / "out"
    path.write_text(ONE_CASE)
    done = minilat("calibrate", path, "--out", out, "--workers", "1")
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "calibration.json").read_text())
    assert summary["cases"] == ["mikta"] and summary["accepted"] == 6
    assert set(pd.read_csv(out / "predictive.csv")["case"]) == {"mikta"}
    assert f"report:{out / 'report.md'}" in "".join(done.stdout.split())  # wrapped anywhere
    report = (out / "report.md").read_text()
    # it leads with the findings: the posterior per parameter, then the fit to the record
    headings = re.findall(r"^## (.+)$", report, flags=re.MULTILINE)
    assert headings[:3] == ["Findings: the posterior per parameter",
                            "Findings: the fit to each record", "The method"]
    posterior = pd.read_csv(out / "posterior.csv")
    identified = int(posterior["identified"].sum())
    # six accepted sets are too few to identify anything, however narrow their spread
    assert "**The posterior rests on 6.0 effective parameter sets**" in report
    assert identified == 0
    for row in posterior.itertuples():  # each parameter's interval width against its prior
        assert f"| `{row.parameter}` |" in report
        assert f"| {row.interval_share_of_prior:.2f} |" in report
    fit = pd.read_csv(out / "predictive.csv")
    assert f"| {fit['inside'].mean() * 100:.0f} % |" in report
    assert "60 parameter sets simulated" in report and "rejection" in report


def test_long_run_runs_use_distinct_seeds_and_report_both_parameter_sources(tmp_path):
    path = tmp_path / "one.toml"
    path.write_text(ONE_CASE.replace("predictive_runs = 2", 'predictive_runs = 2\n'
                                     'long_run = ["mikta"]\nlong_run_runs = 4'))
    calibration = load_joint(path)
    assert len(set(long_run_seeds(calibration, 500))) == 500
    result = calibrate_joint(calibration, workers=1)
    table = result.long_run.set_index("parameters")
    assert list(table.index) == ["calibrated values", "accepted draws"]
    assert (table["runs"] == 6 * 4).all() and (table["years"] == 30).all()
    np.testing.assert_allclose(table[["alive", "zombie", "dead"]].sum(axis=1), 1.0)


def test_a_posterior_of_few_effective_sets_identifies_nothing_and_the_report_says_so():
    from sim.inference.calibration import MIN_EFFECTIVE_SETS, posterior_summary
    from sim.reporting.calibration_report import identified_section

    calibration = load_joint(ROOT / "experiments" / "joint-decay.toml")
    rng = np.random.default_rng(0)
    narrow = pd.DataFrame({p.key: p.low + (p.high - p.low) * (0.5 + 0.01 * rng.random(100))
                           for p in calibration.priors})
    trusted = posterior_summary(calibration, narrow, effective_sets=MIN_EFFECTIVE_SETS)
    collapsed = posterior_summary(calibration, narrow, effective_sets=1.3)
    assert trusted["identified"].all()
    assert not collapsed["identified"].any()
    collapsed["calibrated"] = collapsed["median"]
    text = "\n".join(str(block) for block in identified_section(collapsed, 1.3).blocks)
    assert "1.3 effective parameter sets" in text
