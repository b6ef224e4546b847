"""Validation: diagnostics for desired state and seed files, every problem at once, each with its position."""
