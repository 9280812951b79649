"""Experiments: files and designs, execution on local processes or Dask, results on disk."""
