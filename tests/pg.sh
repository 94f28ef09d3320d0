#!/bin/sh
# tests/pg.sh start|stop|url: a private PostgreSQL server for the tests,
# from Debian's postgresql package: its own cluster in build/pg (owned by
# the postgres user when run as root: initdb refuses root; the password
# file stays the caller's, as pvebot's secret-file rules want), listening on
# 127.0.0.1 only, port 55432 unless PVEBOT_PG_PORT says otherwise, with
# password (SCRAM) authentication for the role `pvebot`, whose password
# is in build/pg/password (mode 0600, random per cluster).
#
# `start` prints the URL for PVEBOT_TEST_DB (the password is not in it:
# PVEBOT_TEST_DB_PASSWORD_FILE names the file). Prints nothing and exits 3
# when PostgreSQL is not installed; any other failure (the port taken, a
# broken cluster) exits with another status.
set -eu
cd "$(dirname "$0")/.."
dir="$PWD/build/pg"
port="${PVEBOT_PG_PORT:-55432}"
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] && [ -x "$bin/initdb" ] || exit 3

as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		su postgres -s /bin/sh -c "$*"
	else
		sh -c "$*"
	fi
}

url() {
	echo "postgresql://pvebot@127.0.0.1:$port/pvebot"
}

case "${1:-start}" in
start)
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		rm -rf "$dir"
		mkdir -p "$dir/data" "$dir/run"
		umask 077
		head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' \
		    > "$dir/password"
		printf 'pvebot\n' > "$dir/su_password"
		if [ "$(id -u)" -eq 0 ]; then
			chown -R postgres "$dir/data" "$dir/run"
			cp "$dir/su_password" "$dir/run/su_password"
			chown postgres "$dir/run/su_password"
		else
			cp "$dir/su_password" "$dir/run/su_password"
		fi
		as_owner "'$bin/initdb' -D '$dir/data' -U postgres \
		    -A scram-sha-256 --pwfile='$dir/run/su_password' -E UTF8 \
		    --no-instructions >'$dir/run/initdb.log' 2>&1"
		rm -f "$dir/run/su_password"
		cat >> "$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir/run'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
	fi
	if ! as_owner "'$bin/pg_ctl' -D '$dir/data' status" >/dev/null 2>&1
	then
		as_owner "'$bin/pg_ctl' -D '$dir/data' -l '$dir/run/server.log' \
		    -w -t 60 start" >/dev/null
	fi
	# The role and its database, once (idempotent).
	PGPASSWORD=pvebot "$bin/psql" -q -h 127.0.0.1 -p "$port" -U postgres \
	    -d postgres -v ON_ERROR_STOP=1 >/dev/null <<EOF
SELECT 'CREATE ROLE pvebot LOGIN CREATEDB'
    WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pvebot')
\gexec
ALTER ROLE pvebot PASSWORD '$(cat "$dir/password")';
SELECT 'CREATE DATABASE pvebot OWNER pvebot'
    WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'pvebot')
\gexec
EOF
	url
	;;
stop)
	[ -f "$dir/data/PG_VERSION" ] &&
	    as_owner "'$bin/pg_ctl' -D '$dir/data' -m fast stop" >/dev/null ||
	    true
	;;
url)
	url
	;;
esac
