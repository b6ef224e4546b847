"""One module per command; each exposes functions that return an exit code."""
