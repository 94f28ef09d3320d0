#!/bin/sh
# test_build.sh - the build as a packager sees it, from the commands make
# would run (make -n -B, nothing is compiled): CPPFLAGS, CFLAGS and
# LDFLAGS given on the command line reach every compile and link;
# hardening is on by default; _FORTIFY_SOURCE only when optimising
# without the sanitizers; the test-only include paths only on tests/
# objects; make check-deps names what is missing.
cd "$(dirname "$0")/../.." || exit 1
unset MAKEFLAGS MFLAGS MAKELEVEL
fail=0
pass() { echo "PASS $1"; }
failed() { echo "FAIL $1: $2"; fail=1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

nsrc=$(find src tests/unit tests/e2e tests/lib tests/fakes -name '*.c' |
    wc -l)

# Every compile line: "-c -o OBJ SRC".
make -n -B SAN=0 CPPFLAGS=-DX=1 CFLAGS='-O2 -g -DY=2' \
    LDFLAGS=-Wl,--build-id=sha1 all tests >"$tmp/n" 2>&1 ||
	failed cppflags "make -n failed: $(tail -n 3 "$tmp/n")"
grep -E '^(cc|gcc|clang|\S*-gcc) .* -c -o ' "$tmp/n" >"$tmp/cc"
ncc=$(wc -l <"$tmp/cc")
if [ "$ncc" -lt "$nsrc" ]; then
	failed cppflags "$ncc compile lines for $nsrc sources"
elif grep -v -e ' -DX=1 ' "$tmp/cc" | grep -q .; then
	failed cppflags "CPPFLAGS missing from: $(grep -v ' -DX=1 ' "$tmp/cc" | head -n 1)"
elif grep -v -e ' -DY=2 ' "$tmp/cc" | grep -q .; then
	failed cppflags "CFLAGS missing from: $(grep -v ' -DY=2 ' "$tmp/cc" | head -n 1)"
else
	pass "cppflags_and_cflags_on_every_compile ($ncc)"
fi

grep -E ' -o \S+ .*-l' "$tmp/n" | grep -v ' -c ' >"$tmp/ld"
if [ "$(wc -l <"$tmp/ld")" -lt 2 ] ||
    grep -v -e '-Wl,--build-id=sha1' "$tmp/ld" | grep -q .; then
	failed ldflags "LDFLAGS missing from a link: $(head -n 1 "$tmp/ld")"
elif grep -v -e '-Wl,-z,relro' "$tmp/ld" | grep -q . ||
    grep -v -e '-Wl,-z,now' "$tmp/ld" | grep -q . ||
    grep -v -e ' -pie ' "$tmp/ld" | grep -q .; then
	failed ldflags "a link without -pie -z relro -z now"
else
	pass ldflags_and_full_relro_pie_on_every_link
fi

if grep ' src/.*\.c$' "$tmp/cc" | grep -q -e '-Itests'; then
	failed test_includes "src/ compiled with -Itests: $(grep ' src/.*\.c$' "$tmp/cc" | grep -e '-Itests' | head -n 1)"
elif grep ' tests/.*\.c$' "$tmp/cc" | grep -v -e '-Itests/lib' | grep -q .; then
	failed test_includes "a tests/ object without -Itests/lib"
else
	pass test_include_paths_only_on_test_objects
fi

# Default flags: hardened, fortified.
make -n -B SAN=0 bin/pvebot >"$tmp/d" 2>&1
line=$(grep ' -c -o .*src/main\.c$' "$tmp/d")
ok=1
for f in -D_FORTIFY_SOURCE=2 -fstack-protector-strong \
    -fstack-clash-protection -fPIE -O2; do
	case " $line " in *" $f "*) ;; *) ok=0; failed hardening "no $f in: $line" ;; esac
done
[ "$ok" -eq 1 ] && pass hardening_on_by_default

# No fortify without optimisation (it would warn), nor under ASan, nor
# twice when the packager's flags already set it.
make -n -B SAN=0 CFLAGS='-O0 -g' bin/pvebot >"$tmp/o0" 2>&1
make -n -B SAN=1 tests >"$tmp/san" 2>&1
make -n -B SAN=0 CPPFLAGS=-D_FORTIFY_SOURCE=3 bin/pvebot >"$tmp/f3" 2>&1
if grep -q -e '-D_FORTIFY_SOURCE' "$tmp/o0"; then
	failed fortify "fortify with -O0"
elif grep ' -c -o ' "$tmp/san" | grep -q -e '-D_FORTIFY_SOURCE'; then
	failed fortify "fortify under the sanitizers"
elif grep ' -c -o .*main\.c$' "$tmp/f3" | grep -q -e '-D_FORTIFY_SOURCE=2'; then
	failed fortify "fortify=2 beside the packager's fortify=3"
elif ! grep ' -c -o .*main\.c$' "$tmp/f3" | grep -q -e '-D_FORTIFY_SOURCE=3'; then
	failed fortify "the packager's fortify=3 lost"
else
	pass fortify_only_when_it_applies
fi

# check-deps: OK here (make deps ran), and names a module that is missing.
if ! make -s check-deps >"$tmp/cd" 2>&1; then
	failed check_deps "fails with everything installed: $(cat "$tmp/cd")"
elif make -s check-deps PKGS='jansson no-such-module-pvebot' \
    >"$tmp/cd2" 2>&1; then
	failed check_deps "exit 0 with a module missing"
elif ! grep -q 'missing: pkg-config module no-such-module-pvebot' "$tmp/cd2"; then
	failed check_deps "does not name the missing module: $(cat "$tmp/cd2")"
elif grep -q 'missing: pkg-config module jansson' "$tmp/cd2"; then
	failed check_deps "names a module that is there"
else
	pass check_deps_names_what_is_missing
fi
exit $fail
