"""Building real sandbox consoles (SQLite files) from seed files for the tests."""

from __future__ import annotations

from pathlib import Path

from reconciler.sandbox import SandboxConsole
from reconciler.sandbox.seedfile import load_seed

DATA = Path(__file__).resolve().parent / "data"
RULES_SEED = DATA / "rules-console.yaml"

ALICE = "alice@acme.example"
DANA = "dana@acme.example"
PARTNER = "partner@globex.example"


def console_from(seed_file: Path, tmp_path: Path, name: str = "sandbox.db") -> SandboxConsole:
    return SandboxConsole.create(tmp_path / name, load_seed(seed_file))


def console_from_text(text: str, tmp_path: Path, name: str = "sandbox.db") -> SandboxConsole:
    seed_file = tmp_path / f"{name}.yaml"
    seed_file.write_text(text, encoding="utf-8")
    return console_from(seed_file, tmp_path, name)
