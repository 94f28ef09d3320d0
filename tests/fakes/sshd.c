/*
 * sshd.c - runs a real OpenSSH server for tests (see sshd.h).
 *
 * The server listens on 127.0.0.1 only, accepts only the generated user
 * key, and puts the stand-ins first on PATH with sshd_config's SetEnv
 * (OpenSSH 8.7 and later apply it after their own defaults). The
 * stand-ins print what the real programs print on a Proxmox VE 8 node.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "fakes/sshd.h"
#include "t.h"
#include "util.h"

#define SSHD_PATH	"/usr/sbin/sshd"
#define KEYGEN_PATH	"/usr/bin/ssh-keygen"

/* Every stand-in starts with this: it logs its argv to calls.log. */
static const char stub_prelude[] =
	"#!/bin/sh\n"
	"{ printf '%s' \"${0##*/}\"; for a in \"$@\"; do printf ' [%s]' \"$a\";"
	" done; printf '\\n'; } >> @DIR@/calls.log\n";

static const struct {
	const char	*name;
	const char	*body;
} stubs[] = {
	{ "sudo",
	  "[ \"$1\" = -n ] && shift\n"
	  "exec \"$@\"\n" },
	{ "echoargs",
	  "for a in \"$@\"; do printf '[%s]\\n' \"$a\"; done\n" },
	{ "progress",
	  "n=${1:-3}; d=${2:-1}; i=1\n"
	  "while [ $i -le $n ]; do\n"
	  "  echo \"step $i/$n\"\n"
	  "  [ $i -lt $n ] && sleep $d\n"
	  "  i=$((i + 1))\n"
	  "done\n" },
	{ "ticker",
	  "i=0\n"
	  "while [ $i -lt 300 ]; do echo \"tick $i\"; sleep 0.1; "
	  "i=$((i + 1)); done\n" },
	{ "pvecm",
	  "[ \"$1\" = status ] || { echo \"unknown command 'pvecm $1'\" >&2;"
	  " exit 255; }\n"
	  "if [ -f @DIR@/pvecm.lost ]; then q=No; v=1; n=1; f=; "
	  "a='Activity blocked'; else q=Yes; v=3; n=3; f='Quorate '; a=' ';"
	  " fi\n"
	  "cat <<EOF\n"
	  "Cluster information\n"
	  "-------------------\n"
	  "Name:             homelab\n"
	  "Config Version:   5\n"
	  "Transport:        knet\n"
	  "Secure auth:      on\n"
	  "\n"
	  "Quorum information\n"
	  "------------------\n"
	  "Date:             Sun Nov 22 18:20:01 2026\n"
	  "Quorum provider:  corosync_votequorum\n"
	  "Nodes:            $n\n"
	  "Node ID:          0x00000001\n"
	  "Ring ID:          1.2c\n"
	  "Quorate:          $q\n"
	  "\n"
	  "Votequorum information\n"
	  "----------------------\n"
	  "Expected votes:   3\n"
	  "Highest expected: 3\n"
	  "Total votes:      $v\n"
	  "Quorum:           2 $a\n"
	  "Flags:            $f\n"
	  "\n"
	  "Membership information\n"
	  "----------------------\n"
	  "    Nodeid      Votes Name\n"
	  "0x00000001          1 10.10.10.11 (local)\n"
	  "EOF\n"
	  "if [ $n = 3 ]; then\n"
	  "  echo '0x00000002          1 10.10.10.12'\n"
	  "  echo '0x00000003          1 10.10.10.13'\n"
	  "fi\n" },
	/* qm / pct unlock: silent on success, like the real ones. */
	{ "qm",
	  "[ \"$1\" = unlock ] || { echo \"unknown command 'qm $1'\" >&2;"
	  " exit 255; }\n"
	  "[ -f @DIR@/qm.missing ] && { echo \"Configuration file "
	  "'nodes/$(hostname)/qemu-server/$2.conf' does not exist\" >&2; "
	  "exit 2; }\n"
	  "exit 0\n" },
	{ "pct",
	  "[ \"$1\" = unlock ] || { echo \"unknown command 'pct $1'\" >&2;"
	  " exit 255; }\n"
	  "exit 0\n" },
	{ "sensors",
	  "[ \"$1\" = -j ] || { echo 'stand-in knows only -j' >&2; exit 1; }\n"
	  "if [ -f @DIR@/sensors.json ]; then cat @DIR@/sensors.json; "
	  "else echo 'No sensors found!' >&2; exit 1; fi\n" },
	{ "nvidia-smi",
	  "case \"$*\" in\n"
	  "*--query-gpu=name,temperature.gpu,utilization.gpu,memory.used,"
	  "memory.total*--format=csv,noheader,nounits*)\n"
	  "  echo 'NVIDIA GeForce RTX 3060, 47, 12, 1893, 12288'\n"
	  "  echo 'Tesla P4, 38, 0, 0, 7680' ;;\n"
	  "*) echo 'stand-in: unexpected arguments' >&2; exit 2 ;;\n"
	  "esac\n" },
	{ "lvcreate",
	  "name=; size=; snap=0; origin=\n"
	  "while [ $# -gt 0 ]; do\n"
	  "  case \"$1\" in\n"
	  "  -s|--snapshot) snap=1 ;;\n"
	  "  -n|--name) name=$2; shift ;;\n"
	  "  -L|--size) size=$2; shift ;;\n"
	  "  -*) ;;\n"
	  "  *) origin=$1 ;;\n"
	  "  esac\n"
	  "  shift\n"
	  "done\n"
	  "vg=${origin%%/*}; lv=${origin#*/}\n"
	  "if [ $snap != 1 ] || [ -z \"$name\" ] || [ -z \"$origin\" ]; then\n"
	  "  echo '  Please specify a logical volume to act as the snapshot "
	  "origin.' >&2; exit 3; fi\n"
	  "if cut -d'|' -f1 @DIR@/lvs.state | grep -qxF -- \"$name\"; then\n"
	  "  echo \"  Logical Volume \\\"$name\\\" already exists in volume "
	  "group \\\"$vg\\\"\" >&2; exit 5; fi\n"
	  "case \"$size\" in *[gG]) s=\"$(echo \"${size%?}\" | "
	  "sed 's/^\\([0-9]*\\)$/\\1.00/')g\" ;; *) s=\"$size\" ;; esac\n"
	  "printf '%s|%s|%s|%s\\n' \"$name\" \"$lv\" "
	  "\"$(date '+%Y-%m-%d %H:%M:%S %z')\" \"$s\" >> @DIR@/lvs.state\n"
	  "echo \"  Logical volume \\\"$name\\\" created.\"\n" },
	{ "lvs",
	  "printf '  {\\n      \"report\": [\\n          {\\n"
	  "              \"lv\": [\\n'\n"
	  "awk -F'|' '{ if (n++) printf(\",\\n\"); printf(\"                  "
	  "{\\\"lv_name\\\":\\\"%s\\\", \\\"origin\\\":\\\"%s\\\", "
	  "\\\"lv_time\\\":\\\"%s\\\", \\\"lv_size\\\":\\\"%s\\\"}\", "
	  "$1, $2, $3, $4) } END { printf(\"\\n\") }' @DIR@/lvs.state\n"
	  "printf '              ]\\n          }\\n      ]\\n  }\\n'\n" },
	{ "lvremove",
	  "for a in \"$@\"; do case \"$a\" in -*) ;; *) t=$a ;; esac; done\n"
	  "name=${t#*/}\n"
	  "if ! cut -d'|' -f1 @DIR@/lvs.state | grep -qxF -- \"$name\"; then\n"
	  "  echo \"  Failed to find logical volume \\\"$t\\\"\" >&2; exit 5; fi\n"
	  "grep -vF -- \"$name|\" @DIR@/lvs.state > @DIR@/lvs.tmp\n"
	  "mv @DIR@/lvs.tmp @DIR@/lvs.state\n"
	  "echo \"  Logical volume \\\"$name\\\" successfully removed.\"\n" },
	{ "systemctl",
	  "verb=; unit=\n"
	  "for a in \"$@\"; do case \"$a\" in -*) ;; *) if [ -z \"$verb\" ];"
	  " then verb=$a; else unit=$a; fi ;; esac; done\n"
	  "case \"$unit\" in *.service) ;; *) unit=\"$unit.service\" ;; esac\n"
	  "case \"$unit\" in pveproxy.service|pvedaemon.service|"
	  "corosync.service|pve-cluster.service) ;;\n"
	  "*) echo \"Unit $unit could not be found.\" >&2; exit 4 ;; esac\n"
	  "since='Sun 2026-11-22 09:12:01 UTC; 9h ago'\n"
	  "[ -f @DIR@/restarted.$unit ] && since=\"$(cat "
	  "@DIR@/restarted.$unit)\"\n"
	  "case \"$verb\" in\n"
	  "restart) date '+%a %Y-%m-%d %H:%M:%S UTC; 1s ago' > "
	  "@DIR@/restarted.$unit ;;\n"
	  "is-active) echo active ;;\n"
	  "status) cat <<EOF\n"
	  "\xe2\x97\x8f $unit - PVE API Proxy Server\n"
	  "     Loaded: loaded (/lib/systemd/system/$unit; enabled; preset: "
	  "enabled)\n"
	  "     Active: active (running) since $since\n"
	  "    Process: 1201 ExecStartPre=/usr/bin/pvecm updatecerts --silent "
	  "(code=exited, status=0/SUCCESS)\n"
	  "   Main PID: 1240 (${unit%.service})\n"
	  "      Tasks: 4 (limit: 38250)\n"
	  "     Memory: 151.2M\n"
	  "        CPU: 1min 2.345s\n"
	  "     CGroup: /system.slice/$unit\n"
	  "EOF\n"
	  ";;\n"
	  "*) echo \"Unknown command verb $verb.\" >&2; exit 1 ;;\n"
	  "esac\n" },
	{ "apt",
	  "[ \"$1\" = list ] && [ \"$2\" = --upgradable ] || "
	  "{ echo 'E: stand-in knows only list --upgradable' >&2; exit 100; }\n"
	  "printf '\\nWARNING: apt does not have a stable CLI interface. Use "
	  "with caution in scripts.\\n\\n' >&2\n"
	  "echo 'Listing... Done'\n"
	  "cat <<'EOF'\n"
	  "libssl3/stable-security 3.0.15-1~deb12u1 amd64 [upgradable from: "
	  "3.0.14-1~deb12u2]\n"
	  "openssl/stable-security 3.0.15-1~deb12u1 amd64 [upgradable from: "
	  "3.0.14-1~deb12u2]\n"
	  "proxmox-kernel-6.8/stable 6.8.12-4 all [upgradable from: "
	  "6.8.12-2]\n"
	  "pve-manager/stable 8.2.7 all [upgradable from: 8.2.4]\n"
	  "EOF\n" },
};

/* The initial LVs of a Proxmox VE node: root, swap, the thin pool and
 * two snapshots of root, one of them a safety snapshot. */
static const char lvs_seed[] =
	"data||2024-03-02 14:11:09 +0100|<319.61g\n"
	"root||2024-03-02 14:10:51 +0100|96.00g\n"
	"swap||2024-03-02 14:10:50 +0100|8.00g\n"
	"safety-1|root|2025-06-01 02:00:00 +0200|2.00g\n"
	"hostsnap-20261001-010000|root|2026-10-01 03:00:00 +0200|2.00g\n";

static char *
subst_dir(const char *text, const char *dir)
{
	struct buf	 b;
	const char	*p = text, *at;

	buf_init(&b, 0);
	buf_append(&b, "", 0);
	while ((at = strstr(p, "@DIR@")) != NULL) {
		buf_append(&b, p, (size_t)(at - p));
		buf_puts(&b, dir);
		p = at + 5;
	}
	buf_puts(&b, p);
	return buf_steal(&b);
}

char *
fake_sshd_file(struct fake_sshd *s, const char *name, const char *content,
    int mode)
{
	char	*path = xasprintf("%s/%s", s->dir, name);

	t_write(path, content, mode);
	return path;
}

void
fake_sshd_stub(struct fake_sshd *s, const char *name, const char *script)
{
	char	*text, *full, *path;

	full = xasprintf("%s%s", stub_prelude, script);
	text = subst_dir(full, s->dir);
	path = xasprintf("%s/%s", s->bin, name);
	t_write(path, text, 0755);
	free(path);
	free(text);
	free(full);
}

static int
keygen(const char *path, char **cause)
{
	char	*argv[] = { KEYGEN_PATH, "-q", "-t", "ed25519", "-N", "",
	    "-C", "pvebot-test", "-f", (char *)path, NULL };
	char	*err = NULL;
	int	 rc;

	rc = t_spawn(argv, NULL, NULL, &err, 10000);
	if (rc != 0) {
		set_cause(cause, "ssh-keygen failed (%d): %s", rc, err);
		free(err);
		return -1;
	}
	free(err);
	return 0;
}

/* "ssh-ed25519 AAAA..." from a .pub file; caller frees. */
static char *
pub_key(const char *pub_path, char **cause)
{
	char	*text, *sp;

	if ((text = read_file(pub_path, 64 * 1024, NULL, cause)) == NULL)
		return NULL;
	if ((sp = strchr(text, ' ')) != NULL &&
	    (sp = strchr(sp + 1, ' ')) != NULL)
		*sp = '\0';
	str_trim(text);
	return text;
}

char *
fake_sshd_keygen(struct fake_sshd *s, const char *name, char **cause)
{
	char	*path = xasprintf("%s/%s", s->dir, name);
	char	*pub, *key = NULL;

	if (keygen(path, cause) == 0) {
		pub = xasprintf("%s.pub", path);
		key = pub_key(pub, cause);
		free(pub);
	}
	free(path);
	return key;
}

int
fake_sshd_start(struct fake_sshd *s, char **cause)
{
	struct passwd	*pw;
	char		*text, *hostpub, *userpub, *pubpath, *path;
	char		*sshd_argv[6];
	static int	 seq;
	size_t		 i;

	memset(s, 0, sizeof *s);
	if (access(SSHD_PATH, X_OK) == -1)
		return set_cause(cause, "%s is missing: install openssh-server "
		    "(make deps)", SSHD_PATH);
	if (access(KEYGEN_PATH, X_OK) == -1)
		return set_cause(cause, "%s is missing: install openssh-client "
		    "(make deps)", KEYGEN_PATH);
	if ((pw = getpwuid(getuid())) == NULL)
		return set_cause(cause, "no passwd entry for uid %u",
		    (unsigned)getuid());
	snprintf(s->user, sizeof s->user, "%s", pw->pw_name);
	snprintf(s->address, sizeof s->address, "127.0.0.1");
	snprintf(s->dir, sizeof s->dir, "%s/sshd-%d", t_tmpdir(), seq++);
	snprintf(s->bin, sizeof s->bin, "%s/bin", s->dir);
	snprintf(s->config, sizeof s->config, "%s/sshd_config", s->dir);
	snprintf(s->host_key, sizeof s->host_key, "%s/host_key", s->dir);
	snprintf(s->user_key, sizeof s->user_key, "%s/user_key", s->dir);
	snprintf(s->known_hosts, sizeof s->known_hosts, "%s/known_hosts",
	    s->dir);
	snprintf(s->calls, sizeof s->calls, "%s/calls.log", s->dir);
	if (mkdir(s->dir, 0700) == -1 || mkdir(s->bin, 0755) == -1)
		return set_cause(cause, "mkdir %s: %s", s->dir,
		    strerror(errno));
	/* sshd as root insists on its privilege separation folder. */
	if (getuid() == 0 && access("/run/sshd", F_OK) == -1)
		mkdir("/run/sshd", 0755);

	if (keygen(s->host_key, cause) == -1 ||
	    keygen(s->user_key, cause) == -1)
		return -1;
	pubpath = xasprintf("%s.pub", s->host_key);
	hostpub = pub_key(pubpath, cause);
	free(pubpath);
	pubpath = xasprintf("%s.pub", s->user_key);
	userpub = pub_key(pubpath, cause);
	free(pubpath);
	if (hostpub == NULL || userpub == NULL) {
		free(hostpub);
		free(userpub);
		return -1;
	}
	s->port = t_free_port();

	text = xasprintf("[127.0.0.1]:%d %s\n", s->port, hostpub);
	t_write(s->known_hosts, text, 0644);
	free(text);
	text = xasprintf("%s\n", userpub);
	path = fake_sshd_file(s, "authorized_keys", text, 0600);
	free(path);
	free(text);
	free(hostpub);
	free(userpub);

	text = xasprintf(
	    "ListenAddress 127.0.0.1\n"
	    "Port %d\n"
	    "HostKey %s\n"
	    "AuthorizedKeysFile %s/authorized_keys\n"
	    "PidFile %s/sshd.pid\n"
	    "PasswordAuthentication no\n"
	    "KbdInteractiveAuthentication no\n"
	    "PubkeyAuthentication yes\n"
	    "PermitRootLogin prohibit-password\n"
	    "UsePAM no\n"
	    "StrictModes no\n"
	    "PrintMotd no\n"
	    "X11Forwarding no\n"
	    "AllowTcpForwarding no\n"
	    "SetEnv PATH=%s:/usr/sbin:/usr/bin:/sbin:/bin\n",
	    s->port, s->host_key, s->dir, s->dir, s->bin);
	t_write(s->config, text, 0600);
	free(text);

	path = fake_sshd_file(s, "lvs.state", lvs_seed, 0644);
	free(path);
	path = fake_sshd_file(s, "calls.log", "", 0644);
	free(path);
	for (i = 0; i < nitems(stubs); i++)
		fake_sshd_stub(s, stubs[i].name, stubs[i].body);

	sshd_argv[0] = SSHD_PATH;
	sshd_argv[1] = "-D";
	sshd_argv[2] = "-e";
	sshd_argv[3] = "-f";
	sshd_argv[4] = s->config;
	sshd_argv[5] = NULL;
	t_proc_start(&s->proc, sshd_argv, 0);
	if (t_proc_wait_for(&s->proc, "Server listening on", 10000) == -1) {
		char	*out = t_proc_output(&s->proc);

		t_proc_stop(&s->proc, SIGKILL, 1000);
		set_cause(cause, "sshd did not start: %s", out);
		free(out);
		return -1;
	}
	return 0;
}

void
fake_sshd_stop(struct fake_sshd *s)
{
	if (s->proc.pid > 0)
		t_proc_stop(&s->proc, SIGTERM, 3000);
}

void
fake_sshd_host(struct fake_sshd *s, struct conf_ssh_host *h,
    const char *name, const char *node)
{
	memset(h, 0, sizeof *h);
	h->name = (char *)name;
	h->node = (char *)node;
	h->address = s->address;
	h->port = s->port;
	h->user = s->user;
	h->key_file = s->user_key;
	h->known_hosts = s->known_hosts;
}

char *
fake_sshd_calls(const struct fake_sshd *s)
{
	char	*text = t_slurp(s->calls);

	return text != NULL ? text : xstrdup("");
}

int
fake_ssh_env_start(struct fake_ssh_env *e, char **cause)
{
	memset(e, 0, sizeof *e);
	if (fake_sshd_start(&e->sshd, cause) == -1)
		return -1;
	fake_sshd_host(&e->sshd, &e->host, "pve1-host", "pve1");
	e->cs.ssh_path = NULL;
	e->cs.connect_timeout = 5;
	e->cs.timeout = 20;
	e->cs.output_cap = 0;
	e->cs.hosts = &e->host;
	e->cs.nhosts = 1;
	return 0;
}

void
fake_ssh_env_stop(struct fake_ssh_env *e)
{
	fake_sshd_stop(&e->sshd);
}
