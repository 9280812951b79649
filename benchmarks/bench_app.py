"""Time a step of the teaching page in a headless browser; optionally take the doc's screenshots.

A step's time runs from the click on Step to the moment every chart on the page shows the new
quarter: the model's step, the drawing, the trip to the browser and its display.

Usage: python benchmarks/bench_app.py [--steps 30] [--screenshots docs/images]
Needs Debian's chromium (/usr/bin/chromium) and the playwright package (the dev extra).
"""

from __future__ import annotations

import argparse
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"

# The demonstrations of docs/teaching.md: slider presses from where the page opens, then play.
DEMONSTRATIONS = {
    "austerity": {"seed": 16, "keys": {"Budget trend": ["ArrowLeft"] * 3},
                  "compare": True},
    "vacuum": {"seed": 202, "keys": {"Chair boost": ["Home"]}, "compare": True},
    "secretariat-before": {"seed": 3, "keys": {"Budget trend": ["ArrowLeft"] * 6}},
    "secretariat": {"seed": 3, "keys": {"Budget trend": ["ArrowLeft"] * 6},
                    "switches": ["Secretariat"]},
    "brics": {"seed": 70, "keys": {"Rival bloc pull": ["End"]}, "compare": True},
}


def serve() -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    minilat = Path(sys.executable).with_name("minilat")
    server = subprocess.Popen([str(minilat), "app", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    address = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(address, timeout=2).close()
            return server, address
        except OSError:
            time.sleep(0.5)
    server.terminate()
    raise SystemExit("the page did not answer within 120 s")


def open_page(browser, address: str, height: int = 1100):
    page = browser.new_page(viewport={"width": 1500, "height": height})
    page.goto(address)
    page.wait_for_selector(".minilat-charts img", timeout=60_000)
    return page


def press(page, label: str, keys: list[str]) -> None:
    slider = page.get_by_role("slider", name=label)
    slider.focus()
    for key in keys:
        slider.press(key)
    slider.blur()


def chart_sources(page) -> list[str]:
    return page.eval_on_selector_all(".minilat-charts img", "imgs => imgs.map(i => i.src)")


def time_steps(page, steps: int) -> list[float]:
    seconds = []
    for _ in range(steps):
        before = chart_sources(page)
        start = time.perf_counter()
        page.get_by_role("button", name="Step").click()
        page.wait_for_function(
            "before => { const now = [...document.querySelectorAll('.minilat-charts img')]"
            ".map(i => i.src); return now.length === before.length"
            " && now.every((src, i) => src !== before[i]); }", arg=before, timeout=10_000)
        seconds.append(time.perf_counter() - start)
    return seconds


def set_up(page, seed: int, keys: dict[str, list[str]], compare: bool = False,
           switches: tuple[str, ...] = ()) -> None:
    box = page.get_by_label("Seed (the same seed, the same shocks)")
    box.fill(str(seed))
    box.press("Enter")
    for label, presses in keys.items():
        press(page, label, presses)
    for label in ([*switches, "Compare with the unchanged scenario"] if compare else switches):
        page.get_by_text(label, exact=True).click()
    # start the story over on Reset, after the step that shows it ("not started")
    page.get_by_text("Reset applies moved levers from the current quarter", exact=True).click()
    time_steps(page, 1)
    page.get_by_role("button", name="Reset").click()
    page.wait_for_function(
        "n => { const b = [...document.querySelectorAll('.minilat-banner')]; return b.length"
        " === n && b.every(e => e.innerText.includes('not started')); }", arg=2 if compare else 1)


def odds_seconds(page, lever: str, keys: list[str]) -> float:
    """From Reset, with a lever moved, to the odds panel showing the new shares."""
    before = page.locator(".minilat-odds-summary").inner_text()
    press(page, lever, keys)
    start = time.perf_counter()
    page.get_by_role("button", name="Reset").click()
    page.wait_for_function(
        "before => { const e = document.querySelector('.minilat-odds-summary');"
        " return e && e.innerText !== before; }", arg=before, timeout=30_000)
    return time.perf_counter() - start


def play_to_the_end(page) -> None:
    press(page, "Render Interval (steps)", ["End"])  # draw every 100 quarters
    page.get_by_role("button", name="▶").click()
    page.wait_for_selector("button:is(:has-text('▶'), :has-text('❚❚')):disabled",
                           timeout=120_000)
    page.wait_for_timeout(1500)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--screenshots", type=Path, help="folder for teaching-*.png")
    args = parser.parse_args()
    server, address = serve()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                                 args=["--no-sandbox"], headless=True)
            for compare in (False, True):
                page = open_page(browser, address)
                set_up(page, 1, {}, compare=compare)
                time_steps(page, 2)  # warm-up
                seconds = time_steps(page, args.steps)
                print(f"{'two runs' if compare else 'one run '}: step shown in median "
                      f"{statistics.median(seconds):.3f} s, 90th percentile "
                      f"{statistics.quantiles(seconds, n=10)[-1]:.3f} s, max "
                      f"{max(seconds):.3f} s ({args.steps} steps)")
                odds = [odds_seconds(page, "Rival bloc pull", [key])
                        for key in ("End", "Home", "End")]
                print(f"{'two runs' if compare else 'one run '}: odds panel (2 x 300 runs) "
                      f"shown {statistics.median(odds):.2f} s after Reset (median of 3)")
                page.close()
            if args.screenshots:
                args.screenshots.mkdir(parents=True, exist_ok=True)
                for name, demo in DEMONSTRATIONS.items():
                    page = open_page(browser, address, height=1450)  # the odds in view
                    set_up(page, demo["seed"], demo["keys"], demo.get("compare", False),
                           tuple(demo.get("switches", ())))
                    play_to_the_end(page)
                    path = args.screenshots / f"teaching-{name}.png"
                    page.screenshot(path=path, full_page=True)
                    print(f"wrote {path}")
                    page.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
    print(f"machine: {platform.processor() or platform.machine()}, "
          f"{platform.python_implementation()} {platform.python_version()}")


if __name__ == "__main__":
    main()
