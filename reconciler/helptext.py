"""What each command's `--help` says it exits with: the codes the command really returns.

One table, so the help of every command reads the same way, and the README's table of commands
is checked against it. A usage error (an unknown option, a bad value) exits 1 for every command.
"""

from __future__ import annotations

import textwrap

from reconciler.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_WAITING

#: Lines of at most 78 columns (an 80-column terminal, with a margin): click indents an epilog
#: by 2, and the list indents by 2 and gives the code 5.
MEANING_WIDTH = 78 - 2 - 2 - 5

_INTERRUPTED = (EXIT_INTERRUPTED, "interrupted (Ctrl-C or SIGTERM)")
_NOT_SANDBOX = "--provider is not sandbox:PATH"

EXIT_CODES: dict[str, tuple[tuple[int, str], ...]] = {
    "validate": (
        (EXIT_OK, "valid"),
        (EXIT_ERROR, "invalid, or a path cannot be read"),
        _INTERRUPTED,
    ),
    "plan": (
        (
            EXIT_OK,
            "no change is blocked; with --detailed-exitcode: no changes (work still in progress "
            "on the console is not a change)",
        ),
        (EXIT_ERROR, "an error (e.g. the console cannot be reached), or a change is blocked"),
        (EXIT_CHANGES, "with --detailed-exitcode: there are changes to make"),
        _INTERRUPTED,
    ),
    "apply": (
        (EXIT_OK, "converged: every change done and verified, or nothing to do"),
        (
            EXIT_ERROR,
            "an error, a refusal (a stale plan, a checksum mismatch, a cancel not allowed), "
            "a blocked change, or a change that failed",
        ),
        (EXIT_WAITING, "stopped at steps waiting on a person; the runbook is written"),
        (EXIT_INTERRUPTED, "interrupted (Ctrl-C or SIGTERM): what was in flight is journaled"),
    ),
    "show": (
        (EXIT_OK, "shown"),
        (EXIT_ERROR, "the plan file cannot be read or is not a reconciler plan"),
        _INTERRUPTED,
    ),
    "import": (
        (EXIT_OK, "the files are written"),
        (
            EXIT_ERROR,
            "an error: the console cannot be reached, --out already holds YAML files or a file of "
            "a name import writes, a write fails, or a console value is one YAML cannot carry "
            "(nothing is written)",
        ),
        _INTERRUPTED,
    ),
    "history": (
        (EXIT_OK, "shown"),
        (EXIT_ERROR, "no run with the --run id, or the state store cannot be read"),
        _INTERRUPTED,
    ),
    "locks": (
        (EXIT_OK, "shown (also when no lock is held)"),
        (EXIT_ERROR, "the state store cannot be read"),
        _INTERRUPTED,
    ),
    "unlock": (
        (EXIT_OK, "released"),
        (EXIT_ERROR, "no lock with that id, or its holder is alive (see --force)"),
        _INTERRUPTED,
    ),
    "schema": (
        (EXIT_OK, "printed"),
        _INTERRUPTED,
    ),
    "sandbox init": (
        (EXIT_OK, "created or replaced"),
        (EXIT_ERROR, f"the seed file is missing or invalid, or {_NOT_SANDBOX}"),
        _INTERRUPTED,
    ),
    "sandbox show": (
        (EXIT_OK, "shown"),
        (EXIT_ERROR, f"the database cannot be read, or {_NOT_SANDBOX}"),
        _INTERRUPTED,
    ),
    "sandbox advance": (
        (EXIT_OK, "the clock moved"),
        (EXIT_ERROR, f"the database cannot be read, or {_NOT_SANDBOX}"),
        _INTERRUPTED,
    ),
    "sandbox serve": (
        (EXIT_OK, "stopped by Ctrl-C or SIGTERM"),
        (EXIT_ERROR, f"the port cannot be listened on, or {_NOT_SANDBOX}"),
    ),
}


def exit_codes(command: str) -> str:
    """The epilog of a command's --help; `\\b` keeps click from rewrapping the list."""
    lines = ["\b", "Exit codes:"]
    for code, meaning in EXIT_CODES[command]:
        wrapped = textwrap.wrap(meaning, MEANING_WIDTH)
        lines.append(f"  {code:<5}{wrapped[0]}")
        lines.extend(f"  {'':<5}{more}" for more in wrapped[1:])
    return "\n".join(lines)
