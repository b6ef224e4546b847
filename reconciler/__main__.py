"""`python -m reconciler` and the `reconciler` command.

Ctrl-C and SIGTERM are handled from the first line: before this, SIGTERM would kill the process
(exit -15) and Ctrl-C would print a traceback from whatever module was being imported. Both
become `KeyboardInterrupt` here, which the CLI turns into one line and exit 130.
"""

from reconciler.interrupts import install_early_handlers, interrupted_exit

install_early_handlers()
try:
    from reconciler.cli import main
except KeyboardInterrupt:
    interrupted_exit()


def run() -> None:
    """The console script's entry point."""
    try:
        main()
    except KeyboardInterrupt:
        interrupted_exit()


if __name__ == "__main__":
    run()
