"""Time the teaching page in a headless browser at 1024 x 768: how soon it answers after
`minilat app`, a step, and Reset with the odds.

- start: from launching `minilat app` to its address answering, and to a browser (started
  beforehand) showing the story and the odds;
- step: from the click on "Step a quarter" to every chart on the page showing the next quarter
  (the model's step, the drawing, the trip to the browser and its display);
- Reset with the odds: from the click on Reset, a lever moved, to the odds table showing the
  new shares (2 x 300 runs of the fast engine, the unchanged arm from the server's cache).

Usage: python benchmarks/bench_app.py [--steps 20]
Needs Debian's chromium (/usr/bin/chromium) and the playwright package (the dev extra). The
screenshots of docs/teaching.md come from the browser tests:
MINILAT_SCREENSHOTS=docs/images pytest tests/test_app_browser.py -n 0
"""

from __future__ import annotations

import argparse
import os
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
CHARTS = "[...document.querySelectorAll('.minilat-charts img')].map(i => i.src)"


def serve(port: int) -> tuple[subprocess.Popen, str, float]:
    """`minilat app` on `port`; the seconds until its address answers."""
    minilat = Path(sys.executable).with_name("minilat")
    started = time.perf_counter()
    server = subprocess.Popen([str(minilat), "app", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    address = f"http://127.0.0.1:{port}/"
    while time.perf_counter() - started < 120:
        try:
            urllib.request.urlopen(address, timeout=2).close()
            return server, address, time.perf_counter() - started
        except OSError:
            time.sleep(0.05)
    server.terminate()
    raise SystemExit("the page did not answer within 120 s")


def time_steps(page, steps: int) -> list[float]:
    seconds = []
    for _ in range(steps):
        before = page.evaluate(f"() => {CHARTS}")
        started = time.perf_counter()
        page.get_by_role("button", name="Step a quarter").click()
        page.wait_for_function(
            f"before => {{ const now = {CHARTS}; return now.length === before.length"
            " && now.every((src, i) => src !== before[i]); }", arg=before, timeout=10_000)
        seconds.append(time.perf_counter() - started)
    return seconds


def reset_with_odds(page, label: str) -> float:
    """From Reset, with a lever moved to its other end, to the odds table showing the new
    shares."""
    before = page.locator(".minilat-odds-summary").inner_text()
    slider = page.get_by_role("slider", name=label)
    at_top = slider.get_attribute("aria-valuenow") == slider.get_attribute("aria-valuemax")
    slider.focus()
    slider.press("Home" if at_top else "End")
    slider.blur()
    page.wait_for_function("() => document.querySelector('.minilat-pending-line')")
    started = time.perf_counter()
    page.get_by_role("button", name="Reset").click()
    page.wait_for_function(
        "before => { const e = document.querySelector('.minilat-odds-summary');"
        " return e && e.innerText !== before; }", arg=before, timeout=30_000)
    return time.perf_counter() - started


def quantiles(seconds: list[float]) -> str:
    return (f"median {statistics.median(seconds):.3f} s, 90th percentile "
            f"{statistics.quantiles(seconds, n=10)[-1]:.3f} s, max {max(seconds):.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--no-sandbox", "--headless"],
                                             headless=True)
        page = browser.new_page(viewport={"width": 1024, "height": 768})
        server, address, answered = serve(port)
        launched = time.perf_counter() - answered
        try:
            page.goto(address)
            page.wait_for_selector(".minilat-banner", timeout=60_000)
            shown = time.perf_counter() - launched
            page.wait_for_selector(".minilat-odds-summary", timeout=60_000)
            odds = time.perf_counter() - launched
            print(f"start: the address answers {answered:.2f} s after `minilat app`, the page "
                  f"shows the story {shown:.2f} s and the odds {odds:.2f} s after it")
            for compare in (False, True):
                if compare:
                    page.get_by_text("Compare with the unchanged scenario", exact=True).click()
                    page.wait_for_function("() => document.querySelector('.minilat-pending-line')")
                    page.get_by_role("button", name="Reset").click()
                    page.wait_for_function(
                        "() => document.querySelectorAll('.minilat-charts img').length === 2")
                time_steps(page, 2)  # warm-up
                name = "two runs" if compare else "one run "
                print(f"{name}: a step shown in {quantiles(time_steps(page, args.steps))} "
                      f"({args.steps} steps)")
                resets = [reset_with_odds(page, "Rival bloc pull") for _ in range(3)]
                print(f"{name}: Reset with the odds shown in median "
                      f"{statistics.median(resets):.2f} s (of 3)")
        finally:
            browser.close()
            server.terminate()
            server.wait(timeout=20)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {load:.1f}, {platform.python_implementation()} "
          f"{platform.python_version()}")


if __name__ == "__main__":
    main()
