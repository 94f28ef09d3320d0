#!/bin/sh
# Runs every test binary and shell test; each prints "PASS name" or
# "FAIL name: why" per case. Then, when PostgreSQL is installed, the
# binaries named in PG_TESTS again on a private PostgreSQL server
# (tests/pg.sh; each test makes its own databases there). Ends with
# "N passed, N failed".
#
# TEST_JOBS tests run at a time (default 3): most tests wait on sleeps
# and sockets, not the CPU, and each has its own directory, databases and
# ports (t_dir, t_db_new, port 0), so they do not see each other. Each
# test's report is printed whole when it ends, with the seconds it took.
# TEST_JOBS=1 runs them one by one, the PostgreSQL runs first.
if [ "${1:-}" = "--one" ]; then	# one test: --one DIR N PATH [pg]
	dir=$2; n=$3; t=$4; label=""
	log="$dir/$n.log"
	if [ "${5:-}" = "pg" ]; then
		label=" [postgresql]"
		export PVEBOT_TEST_DB="$(cat "$dir/pg.url")"
		export PVEBOT_TEST_DB_PASSWORD_FILE="$PWD/build/pg/password"
	fi
	start=$(date +%s%N)
	case "$t" in
	*.sh) sh "$t" >"$log" 2>&1 ;;
	*) "$t" >"$log" 2>&1 ;;
	esac
	rc=$?
	secs=$((($(date +%s%N) - start) / 100000000))
	secs="$((secs / 10)).$((secs % 10))"
	p=$(grep -c '^PASS ' "$log")
	f=$(grep -c '^FAIL ' "$log")
	{
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			f=1
			echo "FAIL $(basename "$t")$label: exited $rc"
			tail -n 30 "$log"
		elif [ "$f" -ne 0 ]; then
			grep '^FAIL ' "$log"
			tail -n 30 "$log" | grep -v '^PASS \|^FAIL '
		fi
		echo "$(basename "$t")$label: $p passed, $f failed ($secs s)"
	} >"$dir/$n.out"
	echo "$p $f" >"$dir/$n.res"
	flock "$dir/lock" cat "$dir/$n.out"
	rm -f "$log"
	exit 0
fi

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
list="$dir/list"
: >"$list"
n=0
if [ -n "${PG_TESTS:-}" ]; then
	url=$(sh tests/pg.sh start)
	rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "$url" >"$dir/pg.url"
		# First: they are the longest, so the short ones fill the gaps.
		for t in $PG_TESTS; do
			n=$((n + 1))
			echo "$n $TESTBIN/$t pg" >>"$list"
		done
	elif [ "$rc" -eq 3 ]; then
		echo "SKIP the PostgreSQL runs: PostgreSQL is not installed" \
		    "(apt-get install postgresql)"
	else
		echo "FAIL postgresql: the test server did not start" \
		    "(tests/pg.sh start exited $rc; see build/pg/run/server.log)"
		fail=1
	fi
fi
for t in "$@" tests/sh/test_*.sh; do
	[ -e "$t" ] || continue
	n=$((n + 1))
	echo "$n $t" >>"$list"
done
xargs -P "${TEST_JOBS:-3}" -L 1 sh tests/run.sh --one "$dir" <"$list"
[ -f "$dir/pg.url" ] && sh tests/pg.sh stop
pass=0
i=0
while [ "$i" -lt "$n" ]; do
	i=$((i + 1))
	if [ -f "$dir/$i.res" ]; then
		read -r p f <"$dir/$i.res"
	else
		echo "FAIL $(sed -n "${i}p" "$list"): no report"
		p=0; f=1
	fi
	pass=$((pass + p)); fail=$((fail + f))
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
