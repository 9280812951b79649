"""Reporting: figures, experiment reports and the narrative of a run."""
