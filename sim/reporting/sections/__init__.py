"""The sections of an experiment report, one module each: `make(results, settings, figures)`
returns the section, or why it is left out."""
