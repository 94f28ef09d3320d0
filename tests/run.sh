#!/bin/sh
# Runs every test binary and shell test; each prints "PASS name" or
# "FAIL name: why" per case. Then, when PostgreSQL is installed, the
# binaries named in PG_TESTS again on a private PostgreSQL server
# (tests/pg.sh; each test makes its own databases there). Ends with
# "N passed, N failed".
pass=0; fail=0
log=$(mktemp)
one() {	# one test: $1 the binary or script, $2 a label suffix
	case "$1" in
	*.sh) sh "$1" >"$log" 2>&1 ;;
	*) "$1" >"$log" 2>&1 ;;
	esac
	rc=$?
	p=$(grep -c '^PASS ' "$log")
	f=$(grep -c '^FAIL ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "FAIL $(basename "$1")$2: exited $rc"
		tail -n 30 "$log"
	elif [ "$f" -ne 0 ]; then
		grep '^FAIL ' "$log"
		tail -n 30 "$log" | grep -v '^PASS \|^FAIL '
	fi
	echo "$(basename "$1")$2: $p passed, $f failed"
	pass=$((pass + p)); fail=$((fail + f))
}
for t in "$@" tests/sh/test_*.sh; do
	[ -e "$t" ] || continue
	one "$t" ""
done
if [ -n "${PG_TESTS:-}" ]; then
	url=$(sh tests/pg.sh start)
	rc=$?
	if [ "$rc" -eq 0 ]; then
		export PVEBOT_TEST_DB="$url"
		export PVEBOT_TEST_DB_PASSWORD_FILE="$PWD/build/pg/password"
		for t in $PG_TESTS; do
			one "$TESTBIN/$t" " [postgresql]"
		done
		sh tests/pg.sh stop
	elif [ "$rc" -eq 3 ]; then
		echo "SKIP the PostgreSQL runs: PostgreSQL is not installed" \
		    "(apt-get install postgresql)"
	else
		echo "FAIL postgresql: the test server did not start" \
		    "(tests/pg.sh start exited $rc; see build/pg/run/server.log)"
		fail=$((fail + 1))
	fi
fi
rm -f "$log"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
