#!/usr/bin/env bash
# npm run test:unit: the unit tests (tests/unit: no database, no server), in seconds, for the
# edit-test loop. npm test runs them too, with everything else. Ends with "N passed, N failed".
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_node_modules
logs="$(mktemp)"
trap 'rm -f "$logs"' EXIT
set +e
(cd "$PROJECT_ROOT" && NO_COLOR=1 "$DENO" test --allow-all tests/unit/) 2>&1 | tee "$logs"
status=${PIPESTATUS[0]}
set -e
summary=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$logs" | tail -n 1 || true)
passed=$(sed -nE 's/.*\| ([0-9]+) passed.*/\1/p' <<<"$summary")
failed=$(sed -nE 's/.*\| ([0-9]+) failed.*/\1/p' <<<"$summary")
passed=${passed:-0}
failed=${failed:-0}
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
