"""The one error type users see, and what the CLI does with it."""

from __future__ import annotations

#: Exit codes fixed by the contract.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2  # plan --detailed-exitcode only
EXIT_WAITING = 3  # apply stopped at steps waiting on a person (a runbook)
EXIT_INTERRUPTED = 130


class ReconcilerError(Exception):
    """A failure the user can act on: what is wrong, where, and what to do.

    The CLI prints `error: <message>` and, when set, `hint: <hint>`, then exits with `exit_code`.
    Nothing that raises this should also print a traceback.
    """

    def __init__(self, message: str, *, hint: str | None = None, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code


class ProviderError(ReconcilerError):
    """The console refused or failed a request.

    `code` is a rule id from the specification when the console refused a change for breaking
    a rule (e.g. `premium-site`), or one of `not-found`, `conflict`, `unauthorized`,
    `idempotency-mismatch`, `unavailable`, `invalid-request`.
    `transient` says whether trying the same request again may succeed.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str,
        transient: bool = False,
        retry_after: float | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.transient = transient
        self.retry_after = retry_after


class Interrupted(ReconcilerError):
    """Ctrl-C or SIGTERM: the run stopped cleanly and recorded where it was."""

    def __init__(self, message: str = "interrupted") -> None:
        super().__init__(message, exit_code=EXIT_INTERRUPTED)
