"""reconciler: Atlassian cloud subscriptions as code."""

__version__ = "0.1.0"
