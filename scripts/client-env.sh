#!/usr/bin/env bash
# Creates (once) the Python virtual environment the client tests use: boto3 and the AWS CLI,
# pinned, from PyPI. Prints the environment's python on stdout.
#   WEIR_VENV   where to put it [default: ~/.cache/weir/venv]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${WEIR_VENV:-$HOME/.cache/weir/venv}"
REQUIREMENTS=tests/clients/requirements.txt
STAMP="$VENV/.requirements"
if [ ! -x "$VENV/bin/python" ] || ! cmp -s "$REQUIREMENTS" "$STAMP"; then
    python3 -m venv "$VENV" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS" >&2
    cp "$REQUIREMENTS" "$STAMP"
fi
echo "$VENV/bin/python"
