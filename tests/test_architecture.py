"""The package's shape: grouped by role, lower layers never import higher ones, and importing
changes nothing in the user's process."""

import ast
import subprocess
import sys
from pathlib import Path

import sim

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sim"
LAYERS = ["model", "experiments", "inference", "reporting"]  # each may import those before it
WIRING = {"app", "cli", "bench"}  # top-level modules that wire the layers together


def _imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name == "sim" or name.startswith("sim.")}


def test_the_package_is_grouped_by_role():
    top = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert len(top) <= 8, top
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert set(LAYERS) <= packages <= set(LAYERS) | {"cli", "app"}  # the layers, the wiring
    for layer in LAYERS:  # no module named like its own package
        assert not (PACKAGE / layer / f"{layer}.py").exists()


def test_no_layer_imports_a_higher_one():
    for rank, layer in enumerate(LAYERS):
        higher = {f"sim.{name}" for name in LAYERS[rank + 1:] + sorted(WIRING)}
        for path in (PACKAGE / layer).rglob("*.py"):
            for name in _imported(path):
                assert not any(name == h or name.startswith(h + ".") for h in higher), (
                    f"{path.relative_to(ROOT)} imports {name}")
    for path in PACKAGE.glob("errors.py"):
        assert not _imported(path)


def test_the_public_api_is_short_and_loads():
    assert 5 <= len(sim.__all__) <= 16
    for name in sim.__all__:
        assert getattr(sim, name) is not None


IMPORT_EVERYTHING = """
import importlib, pkgutil, sys, warnings
import matplotlib
import mesa
import mesa.visualization.solara_viz as solara_viz
import solara  # third-party imports that set filters of their own come first
warnings_before = list(warnings.filters)
backend_before = matplotlib.rcParams._get_backend_or_none()
layout_before = solara_viz.make_initial_grid_layout
modules_before = set(sys.modules)
import sim
for info in pkgutil.walk_packages(sim.__path__, "sim."):
    importlib.import_module(info.name)
assert list(warnings.filters) == warnings_before, "warnings filters changed"
assert matplotlib.rcParams._get_backend_or_none() == backend_before, "matplotlib backend set"
assert "matplotlib.pyplot" not in set(sys.modules) - modules_before, "pyplot imported"
assert solara_viz.make_initial_grid_layout is layout_before, "Mesa patched at import"
print("untouched")
"""


def test_importing_every_module_changes_nothing_in_the_process():
    done = subprocess.run([sys.executable, "-c", IMPORT_EVERYTHING], capture_output=True,
                          text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("untouched")


def test_importing_sim_alone_loads_no_engine():
    code = "import sys, sim; print(sorted(m for m in sys.modules if m.startswith('sim')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.stdout.strip() == "['sim']"
