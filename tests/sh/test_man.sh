#!/bin/sh
# test_man.sh - the man pages: both render with no warning from groff
# (-ww: all warnings) nor from man -l; pvebot.conf(5) names every key the
# config tables in src/conf/conf.c declare; the pages, the package and the
# binary carry the same version.
cd "$(dirname "$0")/../.." || exit 1
fail=0
pass() { echo "PASS $1"; }
failed() { echo "FAIL $1: $2"; fail=1; }

for page in man/pvebot.8 man/pvebot.conf.5; do
	name=$(basename "$page")
	if [ ! -f "$page" ]; then
		failed "groff_$name" "$page is missing"
		continue
	fi
	warn=$(groff -ww -z -man "$page" 2>&1)
	if [ -n "$warn" ]; then
		failed "groff_$name" "$warn"
	else
		pass "groff_$name"
	fi
	if command -v man >/dev/null 2>&1; then
		warn=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
		if [ -n "$warn" ]; then
			failed "man_$name" "$warn"
		else
			pass "man_$name"
		fi
	fi
done

missing=""
for key in $(sed -n -e 's/.*K[A-Z]*("\([a-z_]*\)".*/\1/p' \
    -e 's/.*{ "\([a-z_]*\)", CK_.*/\1/p' src/conf/conf.c | sort -u); do
	grep -q "\\b$key\\b" man/pvebot.conf.5 2>/dev/null ||
		missing="$missing $key"
done
if [ -n "$missing" ]; then
	failed conf_page_names_every_key "not in pvebot.conf.5:$missing"
else
	pass conf_page_names_every_key
fi

version=$(sed -n 's/^#define PVEBOT_VERSION "\(.*\)"/\1/p' include/util.h)
bad=""
for page in man/pvebot.8 man/pvebot.conf.5; do
	grep -q "^\\.TH .* \"pvebot $version\"" "$page" 2>/dev/null ||
		bad="$bad $page"
done
head -n 1 debian/changelog 2>/dev/null | grep -q "^pvebot ($version)" ||
	bad="$bad debian/changelog"
if [ -n "$bad" ]; then
	failed versions_agree "not version $version:$bad"
else
	pass versions_agree
fi
exit $fail
