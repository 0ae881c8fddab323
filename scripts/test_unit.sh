#!/usr/bin/env bash
# npm run test:unit: the unit tests (tests/unit: no database, no server), in seconds, for the
# edit-test loop. npm test runs them too, with everything else. Ends with "N passed, N failed".
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_node_modules
logs="$(mktemp)"
trap 'rm -f "$logs"' EXIT
run_deno_tests "$logs" tests/unit/
echo "$DENO_PASSED passed, $DENO_FAILED failed"
[ "$DENO_FAILED" -eq 0 ]
