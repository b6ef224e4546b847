"""How the CLI process ends: without freeing what it built, once its output, and any log, is out."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import RunCli

# Imported before the command runs (Python imports sitecustomize at start-up): logging with a
# buffered handler, as a library the process loaded might configure it, and an exit hook.
SITECUSTOMIZE = """
import atexit, logging, logging.handlers, pathlib
target = logging.FileHandler({log!r})
buffered = logging.handlers.MemoryHandler(capacity=100, target=target)
logging.getLogger("library").addHandler(buffered)
logging.getLogger("library").warning("buffered until the handlers are flushed")
atexit.register(lambda: pathlib.Path({marker!r}).write_text("the interpreter's exit ran"))
"""


def test_a_process_that_imported_logging_flushes_its_handlers_and_skips_the_teardown(
    tmp_path: Path, run_cli: RunCli
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    log, marker = tmp_path / "library.log", tmp_path / "teardown"
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE.format(log=str(log), marker=str(marker)))
    result = run_cli("--version", env={"PYTHONPATH": str(site)})
    assert result.returncode == 0, result.stderr
    assert log.read_text() == "buffered until the handlers are flushed\n"
    assert not marker.exists()  # left with os._exit: nothing freed object by object
