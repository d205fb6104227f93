#!/usr/bin/env bash
# Test environment helpers for koban.
#
# Usage (from anywhere; nothing here depends on the current directory):
#   scripts/testenv.sh ensure-packages     install PostgreSQL, Chromium, CJK fonts and rsyslog if missing
#   scripts/testenv.sh start-postgres DIR  start a throwaway PostgreSQL in DIR, print its DSN on stdout
#   scripts/testenv.sh stop-postgres DIR   stop it and remove DIR
#
# The file can also be sourced; it then only defines the testenv_* functions.
#
# Everything except the DSN printed by start-postgres goes to stderr.
set -euo pipefail

# The throwaway server's superuser (trust auth on 127.0.0.1) and database.
TESTENV_PG_USER_NAME=${TESTENV_PG_USER_NAME:-koban}
TESTENV_PG_DB=${TESTENV_PG_DB:-koban_test}
TESTENV_MARKER=.koban-testenv

testenv_log() { printf 'testenv: %s\n' "$*" >&2; }
testenv_die() {
	printf 'testenv: error: %s\n' "$*" >&2
	exit 1
}

# testenv_pg_bindir prints the newest /usr/lib/postgresql/*/bin that has the
# server binaries (or $PG_BINDIR when set).
testenv_pg_bindir() {
	if [[ -n "${PG_BINDIR:-}" ]]; then
		[[ -x "$PG_BINDIR/initdb" ]] || return 1
		printf '%s\n' "$PG_BINDIR"
		return 0
	fi
	local d best=""
	for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V); do
		if [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]]; then
			best=$d
		fi
	done
	[[ -n "$best" ]] || return 1
	printf '%s\n' "$best"
}

testenv_chromium_path() {
	local c
	for c in chromium chromium-browser; do
		if command -v "$c" >/dev/null 2>&1; then
			command -v "$c"
			return 0
		fi
	done
	return 1
}

testenv_pkg_installed() {
	[[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

# testenv_missing_packages prints, space separated, the packages to install.
testenv_missing_packages() {
	local missing=()
	testenv_pg_bindir >/dev/null || missing+=(postgresql)
	testenv_chromium_path >/dev/null || missing+=(chromium)
	testenv_pkg_installed fonts-noto-cjk || missing+=(fonts-noto-cjk)
	# rsyslog: a real syslog sender in tests and the intake benchmark's ceiling.
	command -v rsyslogd >/dev/null 2>&1 || [[ -x /usr/sbin/rsyslogd ]] || missing+=(rsyslog)
	# Real Elasticsearch clients for the _bulk endpoint tests.
	testenv_pkg_installed rsyslog-elasticsearch || missing+=(rsyslog-elasticsearch)
	testenv_pkg_installed python3-elasticsearch || missing+=(python3-elasticsearch)
	# go test -race needs cgo, hence a C compiler.
	command -v gcc >/dev/null 2>&1 || command -v cc >/dev/null 2>&1 || missing+=(gcc)
	printf '%s\n' "${missing[*]:-}"
}

# testenv_online_clusters lists "version name" of running packaged clusters.
testenv_online_clusters() {
	command -v pg_lsclusters >/dev/null 2>&1 || return 0
	pg_lsclusters --no-header 2>/dev/null | awk '$4 == "online" { print $1, $2 }' || true
}

testenv_ensure_packages() {
	local missing
	missing=$(testenv_missing_packages)
	if [[ -z "$missing" ]]; then
		testenv_log "packages present (postgresql, chromium, fonts-noto-cjk, rsyslog, Elasticsearch clients)"
		return 0
	fi

	local sudo=()
	if [[ "$(id -u)" -ne 0 ]]; then
		if command -v sudo >/dev/null 2>&1; then
			sudo=(sudo)
		else
			testenv_die "missing packages: $missing. Not root and no sudo: install them with 'apt-get install $missing' as root (PostgreSQL server binaries are looked for in /usr/lib/postgresql/*/bin)"
		fi
	fi
	command -v apt-get >/dev/null 2>&1 ||
		testenv_die "missing packages: $missing, and apt-get is not available: install them by hand"

	testenv_log "installing: $missing"
	local start=$SECONDS
	# A subshell so that the EXIT trap (removing policy-rc.d) is local to it
	# and runs on failure or interruption too.
	(
		created_policy=0
		before=$(testenv_online_clusters)
		# shellcheck disable=SC2317 # called by the trap
		cleanup() {
			if [[ $created_policy -eq 1 ]]; then
				"${sudo[@]}" rm -f /usr/sbin/policy-rc.d || true
			fi
		}
		trap cleanup EXIT
		if [[ ! -e /usr/sbin/policy-rc.d ]]; then
			# Keep packages' services (the packaged PostgreSQL cluster) from starting.
			printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null
			created_policy=1
			"${sudo[@]}" chmod 755 /usr/sbin/policy-rc.d
		fi
		apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300)
		# Some configured repositories may be unreachable; Debian's own are
		# what matter, so a partial update is only a warning.
		"${apt[@]}" update >&2 || testenv_log "warning: apt-get update reported errors; trying to install anyway"
		# shellcheck disable=SC2086 # $missing is a space separated list
		"${apt[@]}" install -y --no-install-recommends $missing >&2

		# If a packaged cluster got started anyway, stop it: the tests use
		# their own throwaway server.
		after=$(testenv_online_clusters)
		while read -r ver name; do
			[[ -n "$ver" ]] || continue
			if ! grep -qx "$ver $name" <<<"$before"; then
				testenv_log "stopping packaged PostgreSQL cluster $ver/$name started by the install"
				"${sudo[@]}" pg_ctlcluster "$ver" "$name" stop >&2 || true
			fi
		done <<<"$after"
	)
	testenv_log "installed in $((SECONDS - start))s"

	missing=$(testenv_missing_packages)
	[[ -z "$missing" ]] || testenv_die "still missing after install: $missing"
}

# testenv_as_owner DIR CMD... runs CMD as the user who owns DIR (root runs it
# through runuser; other users can only run it as themselves).
testenv_as_owner() {
	local dir=$1
	shift
	local owner
	owner=$(stat -c %U "$dir")
	if [[ "$(id -u)" -eq 0 && "$owner" != root ]]; then
		(cd / && runuser -u "$owner" -- "$@")
	else
		(cd / && "$@")
	fi
}

testenv_port_free() {
	local port=$1
	if command -v ss >/dev/null 2>&1; then
		[[ -z "$(ss -Htln "sport = :$port" 2>/dev/null)" ]] || return 1
	fi
	# Nothing may answer on it either.
	! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

# testenv_pick_port prints a free TCP port on 127.0.0.1, chosen at random
# below Linux's default ephemeral range (32768-60999).
testenv_pick_port() {
	local i port
	for ((i = 0; i < 100; i++)); do
		port=$((20000 + (RANDOM * 32768 + RANDOM + $$) % 12000))
		if testenv_port_free "$port"; then
			printf '%s\n' "$port"
			return 0
		fi
	done
	return 1
}

testenv_start_postgres() {
	local dir=${1:-}
	[[ -n "$dir" ]] || testenv_die "usage: testenv.sh start-postgres DIR"
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	: >"$dir/$TESTENV_MARKER"

	local bindir
	bindir=$(testenv_pg_bindir) ||
		testenv_die "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found under /usr/lib/postgresql/*/bin: run 'scripts/testenv.sh ensure-packages' or 'apt-get install postgresql'"
	printf '%s\n' "$bindir" >"$dir/bindir"

	# initdb and postgres refuse to run as root: as root, hand DIR to the
	# postgres system user and run the server as that user.
	if [[ "$(id -u)" -eq 0 ]]; then
		getent passwd postgres >/dev/null ||
			testenv_die "running as root but there is no 'postgres' system user to run the server as (it comes with the postgresql package)"
		chown -R postgres: "$dir"
		runuser -u postgres -- test -w "$dir" ||
			testenv_die "user postgres cannot write to $dir (is a parent directory closed to it? set TMPDIR to somewhere like /tmp)"
	fi

	local pgdata=$dir/pgdata sock=$dir/sock
	testenv_as_owner "$dir" mkdir -p "$sock"
	(( ${#sock} < 90 )) || testenv_die "socket directory path too long for a unix socket: $sock"

	if ! testenv_as_owner "$dir" "$bindir/initdb" -D "$pgdata" -U "$TESTENV_PG_USER_NAME" \
		--auth=trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
		cat "$dir/initdb.log" >&2
		testenv_die "initdb failed (see above)"
	fi

	local q_sock=${sock//\'/\'\'}
	testenv_as_owner "$dir" tee -a "$pgdata/postgresql.conf" >/dev/null <<EOF

# koban throwaway test server (scripts/testenv.sh)
listen_addresses = '127.0.0.1'
unix_socket_directories = '$q_sock'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
max_parallel_workers_per_gather = 0
logging_collector = off
EOF

	local port attempt started=0
	for ((attempt = 1; attempt <= 5; attempt++)); do
		port=$(testenv_pick_port) || testenv_die "no free TCP port found on 127.0.0.1"
		# Only this attempt's messages, so that the checks below see them.
		[[ ! -e "$dir/postgres.log" ]] || : >"$dir/postgres.log"
		if testenv_as_owner "$dir" "$bindir/pg_ctl" -D "$pgdata" -l "$dir/postgres.log" \
			-o "-p $port" -w -t 60 start >"$dir/pg_ctl.log" 2>&1; then
			started=1
			break
		fi
		if grep -q -e 'could not bind' -e 'Address already in use' "$dir/postgres.log" 2>/dev/null; then
			testenv_log "port $port taken meanwhile, trying another"
			continue
		fi
		break
	done
	if [[ $started -ne 1 ]]; then
		cat "$dir/pg_ctl.log" >&2 || true
		testenv_log "last lines of $dir/postgres.log:"
		tail -n 30 "$dir/postgres.log" >&2 || true
		testenv_die "PostgreSQL did not start"
	fi
	printf '%s\n' "$port" >"$dir/port"
	head -n 1 "$pgdata/postmaster.pid" >"$dir/postgres.pid"

	# pg_ctl -w waited for the server; make sure TCP on 127.0.0.1 answers too.
	local deadline=$((SECONDS + 30))
	until "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$TESTENV_PG_USER_NAME" -d postgres; do
		if ((SECONDS >= deadline)); then
			testenv_log "last lines of $dir/postgres.log:"
			tail -n 30 "$dir/postgres.log" >&2 || true
			testenv_die "PostgreSQL did not accept connections on 127.0.0.1:$port within 30s"
		fi
		sleep 0.2
	done

	if ! "$bindir/createdb" -h 127.0.0.1 -p "$port" -U "$TESTENV_PG_USER_NAME" "$TESTENV_PG_DB" >&2; then
		tail -n 30 "$dir/postgres.log" >&2 || true
		testenv_die "could not create database $TESTENV_PG_DB"
	fi

	local dsn="postgres://$TESTENV_PG_USER_NAME@127.0.0.1:$port/$TESTENV_PG_DB?sslmode=disable"
	printf '%s\n' "$dsn" >"$dir/dsn"
	testenv_log "PostgreSQL $(basename "$(dirname "$bindir")") running on 127.0.0.1:$port (pid $(cat "$dir/postgres.pid"), data in $pgdata)"
	printf '%s\n' "$dsn"
}

testenv_stop_postgres() {
	local dir=${1:-}
	[[ -n "$dir" ]] || testenv_die "usage: testenv.sh stop-postgres DIR"
	[[ -d "$dir" ]] || return 0
	dir=$(cd "$dir" && pwd)
	[[ "$dir" != / ]] || testenv_die "refusing to remove /"
	if [[ ! -e "$dir/$TESTENV_MARKER" ]]; then
		# Not ours (or start-postgres never ran): only remove it when empty.
		rmdir "$dir" 2>/dev/null || testenv_log "warning: $dir was not made by start-postgres; left in place"
		return 0
	fi

	local pid="" bindir=""
	[[ -s "$dir/postgres.pid" ]] && pid=$(cat "$dir/postgres.pid")
	[[ -z "$pid" && -s "$dir/pgdata/postmaster.pid" ]] && pid=$(head -n 1 "$dir/pgdata/postmaster.pid")
	[[ -s "$dir/bindir" ]] && bindir=$(cat "$dir/bindir")

	if [[ -n "$bindir" && -f "$dir/pgdata/postmaster.pid" ]]; then
		testenv_as_owner "$dir" "$bindir/pg_ctl" -D "$dir/pgdata" -m fast -w -t 30 stop >/dev/null 2>&1 ||
			testenv_log "pg_ctl stop failed; killing the postmaster"
	fi
	if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		local i
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			kill -KILL "$pid" 2>/dev/null || true
			sleep 0.2
		fi
	fi
	rm -rf -- "$dir"
}

testenv_main() {
	local cmd=${1:-}
	shift || true
	case "$cmd" in
	ensure-packages) testenv_ensure_packages "$@" ;;
	start-postgres) testenv_start_postgres "$@" ;;
	stop-postgres) testenv_stop_postgres "$@" ;;
	*)
		echo "usage: $0 ensure-packages | start-postgres DIR | stop-postgres DIR" >&2
		exit 2
		;;
	esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	testenv_main "$@"
fi
