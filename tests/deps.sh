#!/bin/sh
# Installs the Debian packages pvebot needs that are missing: with apt-get
# when run as root, else prints the exact command to run.
missing=""
for pkg in "$@"; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null && apt-get install -y -qq $missing >/dev/null ||
		{ echo "apt-get install failed for:$missing" >&2; exit 1; }
else
	echo "missing packages; run as root:" >&2
	echo "  apt-get install$missing" >&2
	exit 1
fi
