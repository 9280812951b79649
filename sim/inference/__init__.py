"""Inference: statistics, calibration and the sources' claims."""
