/*
 * test_cmd_bind.c - from a parsed chat line to the exact Proxmox request
 * or SSH argv the executor will send, for the shipped catalogue: the
 * paths and parameter names are the ones in the Proxmox API, qemu and
 * lxc get their own parameters, absent optional values are dropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "t.h"
#include "util.h"

static struct catalogue *cat;

static struct catalogue *
shipped(void)
{
	char	*errors = NULL;

	if (cat == NULL) {
		cat = catalogue_load("commands", &errors);
		if (cat == NULL)
			t_fail(__FILE__, __LINE__, "load: %s", errors);
		free(errors);
	}
	return cat;
}

/*
 * Parses line, binds it to a guest (vmid on node pve1 of type), and
 * renders "METHOD PATH k=v k=v" for one comparison.
 */
static char *
request(const char *line, const char *type, long long vmid)
{
	struct cmd_parse_opts		 o = { "pvebot", 1, 0, 0 };
	struct cmd_guest_ref		 g = { "pve1", type, vmid };
	struct cmd_proxmox_request	 r;
	struct cmd_call			 call;
	struct buf			 b;
	char				*cause = NULL;
	size_t				 i;

	if (shipped() == NULL)
		return xstrdup("");
	if (cmd_parse(cat, line, &o, &call, &cause) != CMD_PARSE_OK) {
		char *s = xasprintf("parse error: %s", cause);

		free(cause);
		return s;
	}
	if (cmd_proxmox_request(&call, type != NULL ? &g : NULL, &r,
	    &cause) != 0) {
		char *s = xasprintf("bind error: %s", cause);

		free(cause);
		cmd_call_release(&call);
		return s;
	}
	buf_init(&b, 0);
	buf_printf(&b, "%s %s", r.method, r.path);
	for (i = 0; i < r.nparams; i++)
		buf_printf(&b, " %s=%s", r.params[i].key, r.params[i].value);
	cmd_proxmox_request_release(&r);
	cmd_call_release(&call);
	return buf_steal(&b);
}

static void
check(const char *line, const char *type, long long vmid, const char *want)
{
	char	*got = request(line, type, vmid);

	if (strcmp(got, want) != 0)
		t_fail(__FILE__, __LINE__, "'%s' (%s): got \"%s\", expected "
		    "\"%s\"", line, type ? type : "-", got, want);
	free(got);
}

static void
lifecycle(void)
{
	check("start 101", "qemu", 101,
	    "POST /nodes/pve1/qemu/101/status/start");
	check("start pvebot", "lxc", 100,
	    "POST /nodes/pve1/lxc/100/status/start");
	check("stop 102", "qemu", 102, "POST /nodes/pve1/qemu/102/status/stop");
	check("shutdown dns", "lxc", 103,
	    "POST /nodes/pve1/lxc/103/status/shutdown");
	check("reboot 102", "qemu", 102,
	    "POST /nodes/pve1/qemu/102/status/reboot");
	check("suspend 102", "qemu", 102,
	    "POST /nodes/pve1/qemu/102/status/suspend");
	check("resume 102", "qemu", 102,
	    "POST /nodes/pve1/qemu/102/status/resume");
	/* No API call unlocks (the config path checks the lock): SSH. */
	check("unlock 101", "qemu", 101, "bind error: unlock is not a "
	    "Proxmox API command");
	check("start 101", NULL, 0,
	    "bind error: start: nothing to fill {node} with (no guest given)");
}

static void
snapshots(void)
{
	check("snapshot 101 pre-upgrade before the update", "qemu", 101,
	    "POST /nodes/pve1/qemu/101/snapshot snapname=pre-upgrade "
	    "description=before the update vmstate=0");
	/* Containers take no vmstate. */
	check("snapshot 103 pre-upgrade", "lxc", 103,
	    "POST /nodes/pve1/lxc/103/snapshot snapname=pre-upgrade");
	check("rollback 101 pre-upgrade", "qemu", 101,
	    "POST /nodes/pve1/qemu/101/snapshot/pre-upgrade/rollback");
	check("delsnap 101 safety-1", "qemu", 101,
	    "DELETE /nodes/pve1/qemu/101/snapshot/safety-1");
}

static void
backup_migrate_clone(void)
{
	check("backup 101", "qemu", 101,
	    "POST /nodes/pve1/vzdump vmid=101 mode=snapshot");
	check("backup db-01 stop nas-backup", "qemu", 102,
	    "POST /nodes/pve1/vzdump vmid=102 mode=stop storage=nas-backup");
	check("migrate 102 pve2", "qemu", 102,
	    "POST /nodes/pve1/qemu/102/migrate target=pve2");
	check("migrate 102 pve2 online", "qemu", 102,
	    "POST /nodes/pve1/qemu/102/migrate target=pve2 online=1");
	check("migrate 107 pve2 online", "lxc", 107,
	    "POST /nodes/pve1/lxc/107/migrate target=pve2 restart=1");
	check("clone 9000 120 web-02", "qemu", 9000,
	    "POST /nodes/pve1/qemu/9000/clone newid=120 name=web-02");
	check("clone 107 121 cloud-2", "lxc", 107,
	    "POST /nodes/pve1/lxc/107/clone newid=121 hostname=cloud-2");
	check("clone 9000 122", "qemu", 9000,
	    "POST /nodes/pve1/qemu/9000/clone newid=122");
}

static void
read_commands_are_not_proxmox(void)
{
	check("guests", NULL, 0, "bind error: guests is not a Proxmox API "
	    "command");
}

static char *
argv_of_guest(const char *line, int64_t now, const struct cmd_guest_ref *g)
{
	struct cmd_parse_opts	 o = { "pvebot", 1, 0, now };
	struct cmd_call		 call;
	struct buf		 b;
	char			*cause = NULL, *host, **argv;
	size_t			 argc, i;

	if (shipped() == NULL)
		return xstrdup("");
	if (cmd_parse(cat, line, &o, &call, &cause) != CMD_PARSE_OK) {
		char *s = xasprintf("parse error: %s", cause);

		free(cause);
		return s;
	}
	if (cmd_ssh_argv(&call, g, &host, &argv, &argc, &cause) != 0) {
		char *s = xasprintf("bind error: %s", cause);

		free(cause);
		cmd_call_release(&call);
		return s;
	}
	buf_init(&b, 0);
	buf_printf(&b, "%s:", host);
	for (i = 0; i < argc; i++)
		buf_printf(&b, " [%s]", argv[i]);
	free(host);
	cmd_ssh_argv_free(argv, argc);
	cmd_call_release(&call);
	return buf_steal(&b);
}

static char *
argv_of(const char *line, int64_t now)
{
	return argv_of_guest(line, now, NULL);
}

static void
check_argv(const char *line, int64_t now, const char *want)
{
	char	*got = argv_of(line, now);

	if (strcmp(got, want) != 0)
		t_fail(__FILE__, __LINE__, "'%s': got \"%s\", expected \"%s\"",
		    line, got, want);
	free(got);
}

static void
ssh_argv(void)
{
	check_argv("hostsnap pve1 hostsnap-pre", 0, "pve1: [lvcreate] [-s] "
	    "[-n] [hostsnap-pre] [-L] [2G] [pve/root]");
	/* The default name is the UTC time the command was parsed. */
	check_argv("hostsnap pve2", 1763835120, "pve2: [lvcreate] [-s] [-n] "
	    "[hostsnap-20251122-181200] [-L] [2G] [pve/root]");
	/* Without a time there is no name, and no half-empty argv. */
	check_argv("hostsnap pve2", 0,
	    "bind error: hostsnap: argument name has no value");
	check_argv("hostsnap-remove pve1 pve/hostsnap-pre", 0,
	    "pve1: [lvremove] [-y] [pve/hostsnap-pre]");
	check_argv("hostsnaps pve3", 0, "pve3: [lvs] [--reportformat] [json] "
	    "[-o] [lv_name,origin,lv_time,lv_size] [pve]");
	check_argv("service pve1 pveproxy restart", 0,
	    "pve1: [systemctl] [--no-pager] [restart] [pveproxy]");
	check_argv("updates pve1", 0, "pve1: [apt] [list] [--upgradable]");
	check_argv("pvecm pve1", 0, "pve1: [pvecm] [status]");
	check_argv("start 101", 0, "bind error: start is not an SSH command");
}

/*
 * unlock runs on the guest's node, `qm` or `pct` by its type: the host
 * and the program come from the resolved guest, never from the user.
 */
static void
ssh_argv_by_guest(void)
{
	struct cmd_guest_ref	 vm = { "pve2", "qemu", 104 };
	struct cmd_guest_ref	 ct = { "pve2", "lxc", 103 };
	struct cmd_guest_ref	 odd = { "pve2", "vm", 104 };
	char			*got;

	got = argv_of_guest("unlock 104", 0, &vm);
	T_EQ_STR(got, "pve2: [qm] [unlock] [104]");
	free(got);
	got = argv_of_guest("unlock dns", 0, &ct);
	T_EQ_STR(got, "pve2: [pct] [unlock] [103]");
	free(got);
	/* The guest's number, not what was typed (a name). */
	got = argv_of_guest("unlock media", 0, &vm);
	T_EQ_STR(got, "pve2: [qm] [unlock] [104]");
	free(got);
	got = argv_of_guest("unlock 104", 0, NULL);
	T_EQ_STR(got, "bind error: unlock: which program to run depends on "
	    "the guest, and no guest is known");
	free(got);
	got = argv_of_guest("unlock 104", 0, &odd);
	T_EQ_STR(got, "bind error: unlock: the guest has no node or type");
	free(got);
}

/* A user's own command: path values are encoded, {arg?TEXT} works. */
static void
custom_templates(void)
{
	const char			*y =
	    "commands:\n"
	    "  - name: tag\n"
	    "    summary: Tag a guest\n"
	    "    action: guest.tag\n"
	    "    args:\n"
	    "      - {name: guest, type: guest}\n"
	    "      - {name: label, type: word, pattern: \"[a-z:/ ]{1,20}\"}\n"
	    "      - {name: force, type: enum, optional: true, "
	    "values: [force]}\n"
	    "    proxmox:\n"
	    "      method: PUT\n"
	    "      path: /nodes/{node}/{type}/{vmid}/x/{label}\n"
	    "      params: {tags: \"pvebot;{label}\", force: \"{force?1}\"}\n";
	struct cmd_parse_opts		 o = { NULL, 1, 0, 0 };
	struct cmd_guest_ref		 g = { "pve2", "lxc", 103 };
	struct cmd_proxmox_request	 r;
	struct catalogue		*c;
	struct cmd_call			 call;
	char				*errors = NULL, *cause = NULL;

	c = catalogue_load_string("tag.yaml", y, strlen(y), &errors);
	T_OK(c != NULL);
	if (c == NULL) {
		printf("%s", errors);
		free(errors);
		return;
	}
	T_EQ_INT(cmd_parse(c, "tag dns \"a/b c:d\"", &o, &call, &cause),
	    CMD_PARSE_OK);
	T_EQ_INT(cmd_proxmox_request(&call, &g, &r, &cause), 0);
	T_EQ_STR(r.path, "/nodes/pve2/lxc/103/x/a%2Fb%20c%3Ad");
	T_EQ_INT(r.nparams, 1);
	T_EQ_STR(r.params[0].key, "tags");
	T_EQ_STR(r.params[0].value, "pvebot;a/b c:d");
	cmd_proxmox_request_release(&r);
	cmd_call_release(&call);

	T_EQ_INT(cmd_parse(c, "tag dns x force", &o, &call, &cause),
	    CMD_PARSE_OK);
	T_EQ_INT(cmd_proxmox_request(&call, &g, &r, &cause), 0);
	T_EQ_INT(r.nparams, 2);
	T_EQ_STR(r.params[1].key, "force");
	T_EQ_STR(r.params[1].value, "1");
	cmd_proxmox_request_release(&r);
	cmd_call_release(&call);

	/* A guest reference without a type is refused, not guessed. */
	g.type = "vm";
	T_EQ_INT(cmd_parse(c, "tag dns x", &o, &call, &cause), CMD_PARSE_OK);
	T_EQ_INT(cmd_proxmox_request(&call, &g, &r, &cause), -1);
	T_CONTAINS(cause, "the guest has no node or type");
	free(cause);
	cmd_call_release(&call);
	catalogue_free(c);
}

int
main(void)
{
	T_RUN(lifecycle);
	T_RUN(snapshots);
	T_RUN(backup_migrate_clone);
	T_RUN(read_commands_are_not_proxmox);
	T_RUN(ssh_argv);
	T_RUN(ssh_argv_by_guest);
	T_RUN(custom_templates);
	catalogue_free(cat);
	return t_summary();
}
