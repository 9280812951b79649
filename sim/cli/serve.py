"""`minilat app`: the teaching page served with Solara until Ctrl+C."""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from sim.app.levers import SCENARIO_ENV, SEED_ENV
from sim.cli.console import command_app, out
from sim.errors import UserError
from sim.experiments.children import child_of_this_process
from sim.model.scenario_files import builtin_names, load_scenario

PAGE = "sim.app.page:Page"  # what `solara run` serves
# Served on http from 127.0.0.1, Solara warns on every page load that it cannot set a
# cross-site cookie; the page needs none. `serve` silences it in the server's process only.
QUIET_SERVER = "ignore:Cookies with samesite=none require https"

command = command_app()


@command.command("app")
def serve_app(
    scenario: Annotated[str, typer.Argument(help="Built-in scenario name or path to a scenario "
                                            "TOML file the page opens with.")] = "mikta",
    port: Annotated[int, typer.Option(help="Port to serve on.", min=1, max=65535)] = 8765,
    host: Annotated[str, typer.Option(help="Address to listen on. The default serves this "
                                      "machine only; 0.0.0.0 serves every network "
                                      "interface.")] = "127.0.0.1",
    seed: Annotated[int, typer.Option(help="Seed the page opens with.", min=0,
                                      max=2**63 - 1)] = 1,
) -> None:
    """Serve the teaching page and print its address; Ctrl+C stops it."""
    serve(scenario, host=host, port=port, seed=seed, announce=out.print)


def serve(scenario: str = "mikta", *, host: str = "127.0.0.1", port: int = 8765, seed: int = 1,
          announce: Callable[[str], None] = print) -> None:
    """Serve the page with Solara until Ctrl+C or SIGTERM; `announce` its address once up."""
    load_scenario(scenario)  # a bad name or file is reported here, not in the page
    if scenario not in builtin_names():
        scenario = str(Path(scenario).resolve())
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise UserError(f"--host {host}: not an address of this machine ({reason}). Allowed: "
                        "127.0.0.1 (this machine only), 0.0.0.0 (every interface) or a "
                        "name or address that resolves here.") from None
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
        try:
            probe.bind((host, port))
        except OSError as exc:
            hint = ("Choose another --port." if exc.errno in (errno.EADDRINUSE, errno.EACCES)
                    else "Choose another --host.")
            raise UserError(f"--host {host} --port {port}: cannot serve there "
                            f"({exc.strerror}). {hint}") from None
    env = {**os.environ, SCENARIO_ENV: scenario, SEED_ENV: str(seed),
           "SOLARA_THEME_SHOW_BANNER": "false",  # the page needs every pixel of a projector
           "PYTHONWARNINGS": ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"),
                                                     QUIET_SERVER]))}
    server = subprocess.Popen(
        [sys.executable, "-m", "solara", "run", PAGE, "--host", host, "--port",
         str(port), "--production", "--no-open", "--log-level", "warning"], env=env,
        preexec_fn=child_of_this_process() if sys.platform.startswith("linux") else None)
    signal.signal(signal.SIGTERM, lambda *_: server.terminate())
    local = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    address = f"http://{f'[{local}]' if ':' in local else local}:{port}/"
    try:
        deadline = time.monotonic() + 120
        while server.poll() is None and time.monotonic() < deadline:
            try:
                urllib.request.urlopen(address, timeout=2).close()
                break
            except OSError:
                time.sleep(0.3)
        if server.poll() is None:
            shown = address if local == host else (
                f"{address} (served on every interface: from other machines, use this "
                "machine's address)")
            announce(f"The teaching page is at {shown} — Ctrl+C stops it.")
        code = server.wait()
    except KeyboardInterrupt:
        server.terminate()
        server.wait(timeout=10)
        announce("stopped")
        return
    if code not in (0, -signal.SIGTERM):
        raise UserError(f"the page's server stopped with exit code {code}.")
