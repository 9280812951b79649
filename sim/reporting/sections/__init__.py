"""The sections of an experiment report, one module each. A section the design may not support
has `make(results, settings, figures)`, which returns the section or why it is left out; the
findings and the provenance are always there."""
