#!/bin/sh
# check-deps.sh - `make check-deps`: says which build dependencies are
# missing, without installing anything (`make deps` installs them on
# Debian). Checks the C compiler, the tools the build runs, every
# pkg-config module given as an argument, and libsensors (it ships no
# .pc file: its header and library are tried with the compiler). Prints
# one line per missing piece with the Debian package that provides it and
# exits 1, or prints "build dependencies OK" and exits 0.
CC=${CC:-cc}
missing=0

say() {
	echo "missing: $1"
	missing=$((missing + 1))
}

# The Debian package of a pkg-config module, for the hint.
deb_of() {
	case "$1" in
	libwebsockets) echo libwebsockets-dev ;;
	libcurl) echo libcurl4-openssl-dev ;;
	jansson) echo libjansson-dev ;;
	yaml-0.1) echo libyaml-dev ;;
	sqlite3) echo libsqlite3-dev ;;
	openssl) echo libssl-dev ;;
	*) echo "the package with $1.pc" ;;
	esac
}

if ! command -v "$CC" >/dev/null 2>&1; then
	say "C compiler $CC (build-essential)"
fi
for tool in make ar sed install; do
	command -v "$tool" >/dev/null 2>&1 ||
		say "command $tool (build-essential, coreutils)"
done
if ! command -v pkg-config >/dev/null 2>&1; then
	say "command pkg-config (pkg-config); cannot check the libraries"
else
	for mod in "$@"; do
		pkg-config --exists "$mod" 2>/dev/null ||
			say "pkg-config module $mod ($(deb_of "$mod"))"
	done
fi
if command -v "$CC" >/dev/null 2>&1; then
	tmp=$(mktemp -d)
	printf '#include <sensors/sensors.h>\nint main(void)\n{\n\treturn sensors_init(0) != 0;\n}\n' \
	    >"$tmp/s.c"
	"$CC" -o "$tmp/s" "$tmp/s.c" -lsensors >/dev/null 2>&1 ||
		say "libsensors header or library (libsensors-dev)"
	rm -rf "$tmp"
fi
# Run time and tests: the OpenSSH client runs SSH commands; the tests
# start a real sshd.
command -v ssh >/dev/null 2>&1 ||
	say "command ssh, for SSH commands (openssh-client)"
[ -x /usr/sbin/sshd ] || command -v sshd >/dev/null 2>&1 ||
	say "command sshd, for the tests (openssh-server)"

if [ "$missing" -gt 0 ]; then
	echo "$missing build dependencies missing; on Debian, \`make deps\` installs them"
	exit 1
fi
echo "build dependencies OK"
