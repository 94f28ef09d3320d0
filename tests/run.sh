#!/bin/sh
# Runs every test binary and shell test; each prints "PASS name" or
# "FAIL name: why" per case. Ends with "N passed, N failed".
pass=0; fail=0
log=$(mktemp)
for t in "$@" tests/sh/test_*.sh; do
	[ -e "$t" ] || continue
	case "$t" in
	*.sh) sh "$t" >"$log" 2>&1 ;;
	*) "$t" >"$log" 2>&1 ;;
	esac
	rc=$?
	p=$(grep -c '^PASS ' "$log")
	f=$(grep -c '^FAIL ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "FAIL $(basename "$t"): exited $rc"
		tail -n 30 "$log"
	elif [ "$f" -ne 0 ]; then
		grep '^FAIL ' "$log"
		tail -n 30 "$log" | grep -v '^PASS \|^FAIL '
	fi
	echo "$(basename "$t"): $p passed, $f failed"
	pass=$((pass + p)); fail=$((fail + f))
done
rm -f "$log"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
