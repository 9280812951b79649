"""The teaching page in a real browser: `minilat app` serves it; controls move the charts."""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
STEPS = 12

if not CHROMIUM.exists() and not os.environ.get("CI"):
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served():
    """`minilat app mikta-formal --seed 3 --port P` running; yields its address, then stops it."""
    port = free_port()
    minilat = Path(sys.executable).with_name("minilat")
    server = subprocess.Popen([str(minilat), "app", "mikta-formal", "--seed", "3", "--port",
                               str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True)
    address = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while True:
        assert server.poll() is None, server.stdout.read()
        try:
            urllib.request.urlopen(address, timeout=2).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "the page did not answer within 120 s"
            time.sleep(0.5)
    yield address
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    output = server.stdout.read()
    assert f"The teaching page is at {address}" in output, output


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=["--no-sandbox"], headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(served, browser):
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    page.goto(served)
    page.wait_for_selector(".minilat-banner", timeout=60_000)
    page.wait_for_selector(".minilat-charts img", timeout=30_000)
    yield page
    page.close()


def chart_sources(page) -> list[str]:
    return page.eval_on_selector_all(".minilat-charts img", "imgs => imgs.map(i => i.src)")


def banners(page) -> list[str]:
    return [text.strip() for text in page.locator(".minilat-banner").all_inner_texts()]


def set_slider(page, label: str, key: str, presses: int = 1) -> str:
    """Press a key (Home, End, ArrowLeft, ...) on a slider; its new value."""
    slider = page.get_by_role("slider", name=label)
    slider.focus()
    for _ in range(presses):
        slider.press(key)
    slider.blur()
    return slider.get_attribute("aria-valuenow")


def reset(page) -> None:
    page.get_by_role("button", name="Reset").click()


def step(page, count: int) -> list[float]:
    """Click Step `count` times, each time until the charts have changed; seconds per step."""
    seconds = []
    for _ in range(count):
        before = chart_sources(page)
        start = time.perf_counter()
        page.get_by_role("button", name="Step").click()
        page.wait_for_function(
            "before => { const now = [...document.querySelectorAll('.minilat-charts img')]"
            ".map(i => i.src); return now.length === before.length"
            " && now.every((src, i) => src !== before[i]); }", arg=before, timeout=10_000)
        seconds.append(time.perf_counter() - start)
    return seconds


def test_a_slider_and_steps_change_charts_banner_and_log(page, tmp_path):
    start_banner, start_charts = banners(page), chart_sources(page)
    start_events = page.locator(".minilat-event").count()
    assert start_banner[0].startswith("ALIVE") and "not started" in start_banner[0]
    in_force = page.get_by_text("In force (seed 3)").inner_text()
    assert "Secretariat: true · Treaty: true" in in_force  # mikta-formal, as `minilat app` said

    assert set_slider(page, "Budget trend", "ArrowLeft", presses=10) == "-0.1"
    reset(page)
    changes = page.wait_for_selector(".minilat-changes >> text=Budget trend = -0.1")
    assert changes.inner_text() == "Changes from mikta-formal: Budget trend = -0.1."
    seconds = step(page, STEPS)
    page.wait_for_selector(f"text=Step: {STEPS}")

    assert banners(page) != start_banner
    assert "2016 Q4" in banners(page)[0]  # twelve quarters from 2014 Q1
    assert chart_sources(page) != start_charts
    assert page.locator(".minilat-event").count() > start_events
    assert page.locator(".minilat-event", has_text="2014 Q1").count() > 0
    page.screenshot(path=tmp_path / "teaching-page.png", full_page=True)
    print(f"step render: median {statistics.median(seconds):.3f} s, max {max(seconds):.3f} s")
    assert statistics.median(seconds) < 1.0


def test_out_of_range_input_is_refused_with_a_message(page):
    seed = page.get_by_label("Seed (the same seed, the same shocks)")
    seed.fill("-5")
    seed.press("Enter")
    reset(page)
    error = page.wait_for_selector(".minilat-error")
    assert "seed" in error.inner_text() and "out of range" in error.inner_text()
    assert page.locator(".minilat-banner").count() == 0

    seed.fill("7")
    seed.press("Enter")
    reset(page)
    page.wait_for_selector(".minilat-banner")
    assert page.locator(".minilat-error").count() == 0


def test_compare_runs_the_unchanged_scenario_beside_the_changed_one(page, tmp_path):
    page.get_by_text("Compare with the unchanged scenario").click()
    set_slider(page, "Rival bloc pull", "End")
    reset(page)
    changes = page.wait_for_selector(".minilat-changes >> text=Rival bloc pull = 5")
    assert changes.inner_text() == "Changes from mikta-formal: Rival bloc pull = 5.0."
    assert len(banners(page)) == 2
    step(page, 4)
    first, second = banners(page)
    assert first.startswith("with the changes") and second.startswith("the scenario unchanged")
    assert len(chart_sources(page)) == 2
    page.screenshot(path=tmp_path / "teaching-compare.png", full_page=True)


def test_a_lever_moved_mid_story_branches_the_twin_from_the_current_quarter(page):
    page.get_by_text("Compare with the unchanged scenario").click()
    reset(page)
    page.wait_for_function("() => document.querySelectorAll('.minilat-banner').length === 2")
    step(page, 4)
    set_slider(page, "Rival bloc pull", "End")
    reset(page)
    changes = page.wait_for_selector(".minilat-changes >> text=from 2015 Q1")
    assert changes.inner_text() == ("Changes from mikta-formal: Rival bloc pull = 5.0 from "
                                    "2015 Q1.")
    first, second = banners(page)
    assert first.startswith("with the change from 2015 Q1") and "2014 Q4" in first
    assert second.startswith("without the change from 2015 Q1") and "2014 Q4" in second
    step(page, 2)
    assert all("2015 Q2" in banner for banner in banners(page))


def test_the_odds_panel_shows_the_shares_sim_computes_for_the_levers_as_set(page):
    from sim.app.story import odds_of, odds_summary
    from sim.model.scenario_files import load_scenario, with_overrides

    summary = page.wait_for_selector(".minilat-odds-summary")
    opened = summary.inner_text()
    assert "over 300 seeds" in opened and page.locator(".minilat-odds img").count() == 1
    set_slider(page, "Rival bloc pull", "End")
    reset(page)
    page.wait_for_function(
        "before => { const e = document.querySelector('.minilat-odds-summary');"
        " return e && e.innerText !== before; }", arg=opened, timeout=30_000)
    shown = page.locator(".minilat-odds-summary").inner_text()
    base = load_scenario("mikta-formal")
    expected = odds_of([("with the changes", with_overrides(base, {"world.rival_pull": 5.0})),
                        ("the scenario unchanged", base)], 3)
    assert shown == odds_summary(expected, base)


def test_sliders_show_their_values_and_the_page_names_the_model(page):
    assert page.title() == "Minilateral groups: alive, zombie or dead"
    assert page.get_by_role("tab", name="Minilateral groups: alive, zombie or dead").count() == 1
    assert page.get_by_text("Page 0").count() == 0
    assert page.get_by_text("multiplier · scenario: 1", exact=True).count() == 1
    labels = page.locator(".v-slider__thumb-label").all_inner_texts()
    assert "1" in [text.strip() for text in labels]  # the rival bloc's pull, on its thumb
