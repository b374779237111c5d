#!/usr/bin/env bash
# The test command: builds the release preset and runs the whole test suite with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset release >/dev/null
cmake --build --preset release
ctest --preset release "$@"
