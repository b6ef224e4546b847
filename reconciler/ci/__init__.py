"""The glue between reconciler and a CI system: what the GitHub Action's steps run.

`python -m reconciler.ci plan|apply|drift` reads its settings from the environment (the action
maps its inputs there) and talks to GitHub only through the `gh` command line, so every step runs,
and is tested, outside GitHub with a stand-in `gh` on PATH.
"""
