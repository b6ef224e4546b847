"""Values with terminal escapes that reach the text plan (the estate of ../escaped_estate.py)."""

import runpy
from pathlib import Path

runpy.run_path(str(Path(__file__).resolve().parent.parent / "escaped_estate.py"), run_name="__main__")
