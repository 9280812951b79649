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


# --- a spine a maintainer can live in: sizes, cycles, private names, global random state ---

MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def _target(module: str, node: ast.ImportFrom, modules: dict[str, Path]) -> str | None:
    if not node.level:
        return node.module
    base = module.split(".")
    if modules[module].name != "__init__.py":
        base = base[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _owner(name: str, modules: dict[str, Path]) -> str | None:
    while name not in modules and "." in name:
        name = name.rsplit(".", 1)[0]
    return name if name in modules else None


def _imports(modules: dict[str, Path]) -> tuple[dict[str, set[str]], list[str]]:
    """Every module's imports of the package's modules (function-local and type-only ones
    included), and the private names taken from another module."""
    edges: dict[str, set[str]] = {name: set() for name in modules}
    private = []
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [_owner(a.name, modules) for a in node.names if a.name.startswith("sim")]
            elif isinstance(node, ast.ImportFrom):
                source = _target(module, node, modules)
                if not source or not (source == "sim" or source.startswith("sim.")):
                    continue
                targets = [_owner(f"{source}.{a.name}", modules) for a in node.names]
                private += [f"{path.relative_to(ROOT)}:{node.lineno} {a.name} from {source}"
                            for a in node.names
                            if a.name.startswith("_") and f"{source}.{a.name}" not in modules]
            else:
                continue
            edges[module].update(t for t in targets if t and t != module)
    return edges, private


def test_modules_and_functions_read_in_one_sitting():
    too_long = []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{path.relative_to(ROOT)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: "
                                    f"{lines} lines")
    assert not too_long, too_long


def test_no_import_cycle_and_no_private_name_crosses_a_module():
    modules = _modules()
    edges, private = _imports(modules)
    assert not private, private
    graph = edges
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            assert state.get(target) != 1, " -> ".join([*path, module, target])
            if target not in state:
                visit(target, [*path, module])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])


SEEDED_ONLY = ("default_rng", "Generator", "SeedSequence", "PCG64", "BitGenerator")


def test_nothing_uses_numpys_global_generator():
    """Not the package, its tests, benchmarks or docs' scripts: every draw comes from a seeded
    Generator (calibration's proposals included: pyabc's transitions are not asked to draw)."""
    used = []
    for folder in ("sim", "tests", "benchmarks", "docs"):
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                name = None
                if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
                        and node.value.attr == "random" and isinstance(node.value.value, ast.Name)
                        and node.value.value.id in ("np", "numpy")
                        and node.attr not in SEEDED_ONLY):
                    name = f"np.random.{node.attr}"
                elif isinstance(node, ast.ImportFrom) and node.module in ("numpy.random",
                                                                          "numpy"):
                    name = next((f"from {node.module} import {a.name}" for a in node.names
                                 if a.name not in SEEDED_ONLY and (node.module == "numpy.random"
                                                                   or a.name == "random")), None)
                if name is not None:
                    used.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert not used, used
