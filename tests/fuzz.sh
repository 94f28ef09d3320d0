#!/bin/sh
# fuzz.sh - builds and runs libFuzzer targets: `make fuzz` passes every
# tests/fuzz/fuzz_*.c. All of src/ except src/main.c is compiled once with
# clang (-fsanitize=fuzzer-no-link,address,undefined; the Makefile's -I
# and pkg-config flags) into build/fuzz/libpvebot-fuzz.a, and each target
# is linked against it with -fsanitize=fuzzer,address,undefined (only the
# targets get the test-only include paths -Itests -Itests/lib). Each runs
# a fixed number of inputs ($FUZZ_RUNS, default 20000), starting from
# tests/fuzz/corpus/<target>/ and with tests/fuzz/<target>.dict when they
# exist. Prints "PASS target" or "FAIL target: why" per target and
# "N passed, N failed"; exits non-zero on any failure. Without clang it
# says so and exits 0.

CLANG=${CLANG:-clang}
RUNS=${FUZZ_RUNS:-20000}
PKGS="libwebsockets libcurl jansson yaml-0.1 sqlite3 libpq openssl"
OUT=build/fuzz

if ! command -v "$CLANG" >/dev/null 2>&1; then
	echo "SKIP fuzz: $CLANG not found (install clang to run the fuzz targets)"
	exit 0
fi
if [ $# -eq 0 ]; then
	echo "SKIP fuzz: no targets given (tests/fuzz/fuzz_*.c)"
	exit 0
fi

COMMON="-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined -Iinclude \
	$(pkg-config --cflags $PKGS 2>/dev/null)"
TESTINC="-Itests/lib -Itests -Isrc/store"
LIBS="$(pkg-config --libs $PKGS 2>/dev/null) -lhttp_parser -lsensors -lpthread -lm"
LIB="$OUT/libpvebot-fuzz.a"

# The sources once, instrumented for coverage, then one link per target.
rm -rf "$OUT/obj"
mkdir -p "$OUT/obj"
rm -f "$LIB"
export CLANG COMMON OUT
if ! find src -name '*.c' ! -path src/main.c | sort | xargs -P 2 -I{} \
    sh -c 'o="$OUT/obj/$(echo "{}" | tr / _).o"; $CLANG $COMMON \
	-fsanitize=fuzzer-no-link,address,undefined -c -o "$o" "{}"' \
    >"$OUT/build.log" 2>&1 ||
    ! ar rcs "$LIB" "$OUT"/obj/*.o >>"$OUT/build.log" 2>&1; then
	echo "FAIL fuzz: building src/ with $CLANG failed (see $OUT/build.log)"
	tail -n 20 "$OUT/build.log"
	echo "0 passed, $# failed"
	exit 1
fi

pass=0; fail=0
for src in "$@"; do
	name=$(basename "$src" .c)
	bin="$OUT/$name"
	log="$OUT/$name.log"
	# shellcheck disable=SC2086
	if ! "$CLANG" $COMMON $TESTINC -fsanitize=fuzzer,address,undefined \
	    -o "$bin" "$src" "$LIB" $LIBS >"$log" 2>&1; then
		echo "FAIL $name: build failed (see $log)"
		tail -n 20 "$log"
		fail=$((fail + 1))
		continue
	fi
	# A scratch copy of the seed corpus, so runs do not grow the tree.
	corpus=$(mktemp -d)
	if [ -d "tests/fuzz/corpus/$name" ]; then
		cp "tests/fuzz/corpus/$name"/* "$corpus"/ 2>/dev/null
	fi
	dict=""
	if [ -f "tests/fuzz/$name.dict" ]; then
		dict="-dict=tests/fuzz/$name.dict"
	fi
	# shellcheck disable=SC2086
	# Standard input is /dev/null: a target never waits on a terminal.
	if "$bin" -runs="$RUNS" -max_len=8192 -timeout=10 -rss_limit_mb=1024 \
	    -artifact_prefix="$OUT/$name-" $dict "$corpus" \
	    </dev/null >"$log" 2>&1; then
		echo "PASS $name ($RUNS runs)"
		pass=$((pass + 1))
	else
		echo "FAIL $name: see $log and the crash input $OUT/$name-*"
		grep -E 'ERROR|SUMMARY|runtime error|Assertion|abort' "$log" |
		    head -n 10
		fail=$((fail + 1))
	fi
	rm -rf "$corpus"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
