"""`python -m reconciler` and the `reconciler` command.

Ctrl-C and SIGTERM are handled from the first line: before this, SIGTERM would kill the process
(exit -15) and Ctrl-C would print a traceback from whatever module was being imported. Both
become `KeyboardInterrupt` here, which the CLI turns into one line and exit 130.
"""

from reconciler.interrupts import install_early_handlers, interrupted_exit, was_interrupted

install_early_handlers()
try:
    from reconciler.cli import main
except BaseException:
    # A signal's KeyboardInterrupt, or what an import wrapped it in (Python 3.11 turns one raised
    # in a class body's __set_name__ into a RuntimeError): one line and 130, never a traceback.
    if was_interrupted():
        interrupted_exit()
    raise


def run() -> None:
    """The console script's entry point."""
    try:
        main()
    except BaseException:
        if was_interrupted():
            interrupted_exit()
        raise


if __name__ == "__main__":
    run()
