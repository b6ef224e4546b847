#!/usr/bin/env bash
# Install reconciler from the action's own checkout, so the action and the command are one version.
# Once per job: a job that validates and then plans installs it once.
set -euo pipefail
venv="$RUNNER_TEMP/reconciler-venv"
if [ ! -x "$venv/bin/reconciler" ]; then
  "${PYTHON:-python3}" -m venv "$venv"
  # A regular (not editable) install: pip compiles the bytecode now, not on every start.
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$ACTION_PATH"
fi
"$venv/bin/reconciler" --version
# Later steps of the job can run `reconciler history`, `reconciler locks`, ...
echo "$venv/bin" >> "$GITHUB_PATH"
