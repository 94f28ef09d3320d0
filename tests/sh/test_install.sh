#!/bin/sh
# test_install.sh - `make install DESTDIR=...` as a packager runs it (the
# default PREFIX, so the release build is reused): every file in place;
# the installed binary hardened (readelf: BIND_NOW, GNU_RELRO, PIE,
# __stack_chk_fail, fortified calls); the installed demo finds its
# catalogue and policies without a checkout; the installed bot.conf names
# the installed folders and passes `pvebot check`; a second install
# keeps an edited bot.conf; uninstall removes what install put in place.
cd "$(dirname "$0")/../.." || exit 1
unset MAKEFLAGS MFLAGS MAKELEVEL
fail=0
pass() { echo "PASS $1"; }
failed() { echo "FAIL $1: $2"; fail=1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
prefix=/usr/local

if ! make -s -j2 SAN=0 install DESTDIR="$root" >"$tmp/install.log" 2>&1; then
	failed make_install "$(tail -n 20 "$tmp/install.log")"
	exit 1
fi

missing=""
for f in $prefix/bin/pvebot \
    $prefix/share/pvebot/commands/meta.yaml \
    $prefix/share/pvebot/policies/default.yaml \
    $prefix/share/man/man8/pvebot.8 $prefix/share/man/man5/pvebot.conf.5 \
    $prefix/share/bash-completion/completions/pvebot \
    $prefix/lib/systemd/system/pvebot.service \
    $prefix/lib/sysusers.d/pvebot.conf $prefix/lib/tmpfiles.d/pvebot.conf \
    $prefix/share/doc/pvebot/install.md \
    $prefix/share/doc/pvebot/examples/bot.conf.example \
    /etc/pvebot/bot.conf /etc/pvebot/policies/default.yaml \
    /etc/pvebot/policies/users.yaml /etc/pvebot/commands/README; do
	[ -f "$root$f" ] || missing="$missing $f"
done
if [ -n "$missing" ]; then
	failed installed_files "missing:$missing"
else
	pass installed_files
fi
if grep -q "^ExecStart=$prefix/bin/pvebot run -c /etc/pvebot/bot.conf\$" \
    "$root$prefix/lib/systemd/system/pvebot.service"; then
	pass unit_runs_the_installed_binary
else
	failed unit_runs_the_installed_binary \
	    "$(grep ExecStart "$root$prefix/lib/systemd/system/pvebot.service")"
fi

bin=$root$prefix/bin/pvebot
if ! command -v readelf >/dev/null; then
	failed hardened_binary "readelf not found (binutils)"
else
	readelf -d -W "$bin" >"$tmp/dyn"
	readelf -l -W "$bin" >"$tmp/seg"
	readelf -h -W "$bin" >"$tmp/hdr"
	readelf --dyn-syms -W "$bin" >"$tmp/sym"
	if ! grep -q 'BIND_NOW' "$tmp/dyn" ||
	    ! grep -q 'FLAGS_1.*NOW' "$tmp/dyn"; then
		failed hardened_binary "no BIND_NOW: $(grep FLAGS "$tmp/dyn")"
	elif ! grep -q 'GNU_RELRO' "$tmp/seg"; then
		failed hardened_binary "no GNU_RELRO segment"
	elif ! grep -q 'Type:.*DYN' "$tmp/hdr" ||
	    ! grep -q 'FLAGS_1.*PIE' "$tmp/dyn"; then
		failed hardened_binary "not PIE"
	elif ! grep -q '__stack_chk_fail' "$tmp/sym"; then
		failed hardened_binary "no __stack_chk_fail (stack protector)"
	elif ! grep -q '__[a-z]*_chk' "$tmp/sym" ||
	    ! grep -v '__stack_chk_fail' "$tmp/sym" | grep -q '__[a-z]*_chk'; then
		failed hardened_binary "no fortified calls (_FORTIFY_SOURCE)"
	else
		pass hardened_binary
	fi
fi

# The installed demo, run from a folder with no checkout in it, finds
# PREFIX/share/pvebot beside its own bin/.
out=$(cd "$tmp" && printf 'help\n' | env -u PVEBOT_SHARE "$bin" demo 2>&1)
case $out in
*"Commands (help COMMAND for details)"*) pass installed_demo_finds_its_data ;;
*) failed installed_demo_finds_its_data "$(echo "$out" | tail -n 5)" ;;
esac

# The installed bot.conf, with its absolute paths moved under DESTDIR.
conf=$root/etc/pvebot/bot.conf
if ! grep -q "^commands: $prefix/share/pvebot/commands\$" "$conf" ||
    ! grep -q '^local_commands: /etc/pvebot/commands' "$conf" ||
    ! grep -q '^policies: /etc/pvebot/policies$' "$conf"; then
	failed installed_conf "paths: $(grep -E '^(commands|local_commands|policies):' "$conf")"
else
	sed -e "s|^commands: |commands: $root|" \
	    -e "s|^local_commands: |local_commands: $root|" \
	    -e "s|^policies: |policies: $root|" "$conf" >"$tmp/check.conf"
	if out=$("$bin" check -c "$tmp/check.conf" 2>&1) &&
	    [ "$out" = "configuration OK" ]; then
		pass installed_conf_passes_check
	else
		failed installed_conf_passes_check "$out"
	fi
fi

# A second install keeps what the administrator changed.
echo "# edited" >>"$conf"
make -s SAN=0 install DESTDIR="$root" >"$tmp/install2.log" 2>&1
if tail -n 1 "$conf" | grep -q '^# edited$'; then
	pass reinstall_keeps_bot_conf
else
	failed reinstall_keeps_bot_conf "bot.conf was overwritten"
fi

make -s SAN=0 uninstall DESTDIR="$root" >"$tmp/uninstall.log" 2>&1
left=$(cd "$root" && find ./usr -type f | head -n 5)
if [ -n "$left" ]; then
	failed uninstall "left behind: $left"
elif [ ! -f "$conf" ]; then
	failed uninstall "removed the configuration"
else
	pass uninstall
fi
exit $fail
