"""Rendering: diagnostics and plans to text, markdown, JSON and CI annotations. No I/O."""
