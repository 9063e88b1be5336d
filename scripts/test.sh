#!/usr/bin/env bash
# Run the whole test suite (unit + integration with real conmon and runc).
# Needs root for the integration tests; each test uses its own temporary
# root and runroot, so it can run beside a real podman or another pypod.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m pytest -n "${PYPOD_TEST_JOBS:-2}" -q -p no:cacheprovider "$@" tests
