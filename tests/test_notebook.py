"""docs/tutorial.ipynb: stored without outputs, and every cell runs (nbclient)."""

from pathlib import Path

import nbformat
import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "tutorial.ipynb"


def test_the_tutorial_is_stored_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                "docs/tutorial.ipynb has outputs stored: clear them before committing "
                "(jupyter nbconvert --clear-output --inplace docs/tutorial.ipynb)")


@pytest.mark.slow
def test_the_tutorial_runs_top_to_bottom_with_its_figures():
    from nbclient import NotebookClient

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(figures) >= 4
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "the engines agree: True" in text and "## Findings" in text
    shown = text + "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "first_zombie_quarter" not in shown and "death_quarter" not in shown, (
        "the tutorial shows dates, not quarter indices")
    assert "2014Q1" in shown or "2014 Q1" in shown
