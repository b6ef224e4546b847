"""Files shipped with the package: the JSON Schemas, the OpenAPI contract and the example console."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def schema_path(name: str) -> Path:
    """A file of `schemas/`: `reconciler/_schemas` in an installed wheel, `schemas/` in a checkout."""
    for folder in (_PACKAGE / "_schemas", _PACKAGE.parent / "schemas"):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"schema {name} is missing from the installation")


def package_file(relative: str) -> Path:
    return _PACKAGE / relative
