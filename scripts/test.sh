#!/usr/bin/env bash
# What `make test` runs: installs what the tests need, starts a throwaway
# PostgreSQL, runs the Go tests with the race detector and the browser tests,
# and reports through scripts/testreport. Always stops PostgreSQL again.
#
# Environment:
#   PKGS                package patterns to test (default ./...)
#   GOTESTFLAGS         extra flags for go test (e.g. "-run TestBrowser -v")
#   KOBAN_TEST_REQUIRE  suites that must have passing tests in strict mode:
#                       "postgres,browser" (default), "postgres", "browser" or "none"
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PKGS=${PKGS:-./...}
GOTESTFLAGS=${GOTESTFLAGS:-}

scripts/testenv.sh ensure-packages

pgdir=""
workdir=""
testpid=""

# kill_tree PID: TERM a process and its descendants (children first).
kill_tree() {
	local child
	for child in $(cat /proc/"$1"/task/*/children 2>/dev/null || ps -o pid= --ppid "$1" 2>/dev/null || true); do
		kill_tree "$child"
	done
	kill -TERM "$1" 2>/dev/null || true
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ -n "$testpid" ]] && kill -0 "$testpid" 2>/dev/null; then
		# Interrupted while the tests ran: stop them before their database.
		kill_tree "$testpid"
		wait "$testpid" 2>/dev/null || true
	fi
	if [[ -n "$pgdir" ]]; then
		scripts/testenv.sh stop-postgres "$pgdir" || echo "test.sh: warning: could not stop PostgreSQL in $pgdir" >&2
	fi
	if [[ -n "$workdir" ]]; then
		rm -rf -- "$workdir"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

workdir=$(mktemp -d "${TMPDIR:-/tmp}/koban-test.XXXXXX")
# A directory of its own: start-postgres hands it to the postgres user.
pgdir=$(mktemp -d "${TMPDIR:-/tmp}/koban-pg.XXXXXX")

# Build the reporter first: a compile error shows at once, and `go run`'s
# own "exit status 1" line does not trail the summary.
go build -o "$workdir/testreport" ./scripts/testreport

KOBAN_TEST_POSTGRES=$(scripts/testenv.sh start-postgres "$pgdir")
# shellcheck source=scripts/testenv.sh
KOBAN_TEST_CHROMIUM=$(source scripts/testenv.sh && testenv_chromium_path) || {
	echo "test.sh: chromium not found after ensure-packages" >&2
	exit 1
}
export KOBAN_TEST_POSTGRES KOBAN_TEST_CHROMIUM
export KOBAN_TEST_STRICT=1

echo "test.sh: go test -race -count=1 -tags browser -json $GOTESTFLAGS $PKGS" >&2
echo "test.sh: KOBAN_TEST_POSTGRES=$KOBAN_TEST_POSTGRES KOBAN_TEST_CHROMIUM=$KOBAN_TEST_CHROMIUM" >&2

# In the background with `wait`, so that INT/TERM reach the trap at once
# rather than when the tests end.
(
	set +e
	# GOTMPDIR: go's build directories go into workdir, removed even when
	# go test is killed.
	# shellcheck disable=SC2086 # GOTESTFLAGS and PKGS are word lists
	GOTMPDIR=$workdir go test -race -count=1 -tags browser -json $GOTESTFLAGS $PKGS | "$workdir/testreport" -race
	echo "${PIPESTATUS[0]} ${PIPESTATUS[1]}" >"$workdir/status"
) &
testpid=$!
wait "$testpid" || true
testpid=""

read -r gotest report <"$workdir/status" || {
	echo "test.sh: the test run ended without a status" >&2
	exit 1
}
if [[ $gotest -ne 0 || $report -ne 0 ]]; then
	echo "test.sh: FAIL (go test exit $gotest, report exit $report)" >&2
	exit 1
fi
