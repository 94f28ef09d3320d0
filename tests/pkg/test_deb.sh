#!/bin/sh
# test_deb.sh - the Debian package, end to end, as root on a Debian 12
# machine (CI runs it from .ci/run; it is not in `make test` because it
# installs and removes a system package). It builds the .deb with
# `make deb`, runs lintian (no error allowed), installs it with
# `apt-get install ./pvebot_*.deb`, and checks what an administrator
# would: `pvebot check -c /etc/pvebot/bot.conf` exits 0 on the shipped
# file; `systemd-analyze verify` has nothing to say about the unit; the
# pvebot user exists and may read /etc/pvebot, others may not; the
# binary is hardened; the man pages and the completion are in place;
# the service is not enabled before it is configured. Then
# `apt-get purge` removes it all, and the user if this test made it, so
# the machine is left as it was. Prints "PASS name" / "FAIL name: why".
cd "$(dirname "$0")/../.." || exit 1
unset MAKEFLAGS MFLAGS MAKELEVEL
export DEBIAN_FRONTEND=noninteractive
fail=0
pass() { echo "PASS $1"; }
failed() { echo "FAIL $1: $2"; fail=1; }

if [ "$(id -u)" -ne 0 ]; then
	echo "FAIL deb: run as root (it installs and purges the package)"
	exit 1
fi
# Never clobber a real installation.
if dpkg-query -W -f='${Status}' pvebot 2>/dev/null | grep -q installed ||
    [ -e /etc/pvebot ] || [ -e /var/lib/pvebot ]; then
	echo "FAIL deb: pvebot is already installed here (/etc/pvebot or"
	echo "  /var/lib/pvebot exists); this test installs and purges it"
	exit 1
fi
user_before=0
getent passwd pvebot >/dev/null && user_before=1

tmp=$(mktemp -d)
cleanup() {
	apt-get purge -y -qq pvebot >/dev/null 2>&1
	if [ "$user_before" -eq 0 ] && getent passwd pvebot >/dev/null; then
		userdel pvebot 2>/dev/null
		getent group pvebot >/dev/null && groupdel pvebot 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

version=$(sed -n 's/^#define PVEBOT_VERSION "\(.*\)"/\1/p' include/util.h)
arch=$(dpkg --print-architecture)
deb=pvebot_${version}_${arch}.deb
rm -f "$deb"
if ! make deb >"$tmp/build.log" 2>&1 || [ ! -f "$deb" ]; then
	failed build "make deb: $(tail -n 20 "$tmp/build.log")"
	exit 1
fi
pass "build $deb"

lintian --fail-on error "$deb" >"$tmp/lintian.log" 2>&1
lintian_rc=$?
if grep -q '^E: ' "$tmp/lintian.log" || [ "$lintian_rc" -ne 0 ]; then
	failed lintian "$(grep -E '^[EW]: ' "$tmp/lintian.log")"
else
	pass "lintian_no_errors ($(grep -c '^W: ' "$tmp/lintian.log") warnings)"
	grep '^W: ' "$tmp/lintian.log"
fi

if ! apt-get install -y -qq "./$deb" >"$tmp/apt.log" 2>&1; then
	failed install "apt-get install: $(tail -n 20 "$tmp/apt.log")"
	exit 1
fi
pass apt_get_install

out=$(pvebot check -c /etc/pvebot/bot.conf 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && [ "$out" = "configuration OK" ]; then
	pass shipped_conf_checks
else
	failed shipped_conf_checks "exit $rc: $out"
fi
# What the unit will run it as: the pvebot user.
out=$(setpriv --reuid=pvebot --regid=pvebot --init-groups \
    pvebot check -c /etc/pvebot/bot.conf 2>&1)
[ "$out" = "configuration OK" ] && pass conf_readable_by_pvebot ||
	failed conf_readable_by_pvebot "$out"

unit=/lib/systemd/system/pvebot.service
out=$(systemd-analyze verify "$unit" 2>&1)
if [ $? -eq 0 ] && [ -z "$out" ]; then
	pass systemd_analyze_verify
else
	failed systemd_analyze_verify "$out"
fi
exposure=$(systemd-analyze security --offline=true "$unit" 2>/dev/null |
    sed -n 's/.*Overall exposure level for pvebot.service: \([0-9.]*\).*/\1/p')
case $exposure in
0.*|1.*) pass "systemd_analyze_security ($exposure)" ;;
*) failed systemd_analyze_security "exposure '$exposure', want below 2" ;;
esac

if ! getent passwd pvebot | grep -q ':/var/lib/pvebot:/usr/sbin/nologin$'; then
	failed system_user "$(getent passwd pvebot)"
elif [ "$(stat -c '%U:%G %a' /etc/pvebot)" != "root:pvebot 750" ]; then
	failed system_user "/etc/pvebot is $(stat -c '%U:%G %a' /etc/pvebot)"
elif [ "$(stat -c '%U:%G %a' /var/lib/pvebot)" != "pvebot:pvebot 750" ]; then
	failed system_user "/var/lib/pvebot is $(stat -c '%U:%G %a' /var/lib/pvebot)"
else
	pass system_user_and_folders
fi

dyn=$(readelf -d -W /usr/bin/pvebot)
syms=$(readelf --dyn-syms -W /usr/bin/pvebot)
case $dyn in
*BIND_NOW*) case $syms in
	*__stack_chk_fail*) pass installed_binary_hardened ;;
	*) failed installed_binary_hardened "no __stack_chk_fail" ;;
	esac ;;
*) failed installed_binary_hardened "no BIND_NOW" ;;
esac

# The pages as shipped (a slim image may exclude /usr/share/man from
# installs), rendered by man with every warning on.
dpkg-deb -x "$deb" "$tmp/x"
warn=""
for page in man8/pvebot.8.gz man5/pvebot.conf.5.gz; do
	if [ ! -f "$tmp/x/usr/share/man/$page" ]; then
		warn="$warn $page is not in the package;"
	else
		warn="$warn$(MANWIDTH=80 man --warnings -l \
		    "$tmp/x/usr/share/man/$page" 2>&1 >/dev/null)"
	fi
done
[ -z "$warn" ] && pass man_pages || failed man_pages "$warn"
got=$(bash --norc --noprofile -c '
	. /usr/share/bash-completion/completions/pvebot
	COMP_WORDS=(pvebot au); COMP_CWORD=1; _pvebot pvebot au pvebot
	echo "${COMPREPLY[*]}"')
[ "$got" = "audit" ] && pass completion || failed completion "'$got'"

state=$(systemctl is-enabled pvebot.service 2>/dev/null)
[ "$state" = "disabled" ] && pass not_enabled_until_configured ||
	failed not_enabled_until_configured "is-enabled: $state"

if ! apt-get purge -y -qq pvebot >"$tmp/purge.log" 2>&1; then
	failed purge "$(tail -n 20 "$tmp/purge.log")"
else
	left=""
	for f in /usr/bin/pvebot /usr/share/pvebot /etc/pvebot /var/lib/pvebot \
	    $unit /usr/lib/sysusers.d/pvebot.conf; do
		[ -e "$f" ] && left="$left $f"
	done
	[ -z "$left" ] && pass purge_leaves_nothing ||
		failed purge_leaves_nothing "left:$left"
fi
rm -f "$deb"
exit $fail
