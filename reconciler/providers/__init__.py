"""Providers: how the reconciler observes a console and asks it to make one change."""

from __future__ import annotations

from reconciler.providers.base import Provider, ProviderSettings
from reconciler.providers.registry import open_provider

__all__ = ["Provider", "ProviderSettings", "open_provider"]
