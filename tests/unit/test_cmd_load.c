/*
 * test_cmd_load.c - the catalogue loader: the shipped commands/ folder
 * loads and says what the issue asks for, and each kind of bad file is
 * reported with its exact file:line:column, all errors at once; a local
 * folder layered over the shipped one adds files and replaces files of
 * the same name.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "t.h"
#include "util.h"

/* Loads t_tmpdir(); returns the errors (caller frees) or NULL. */
static char *
load_errors(void)
{
	struct catalogue	*cat;
	char			*errors = NULL;

	cat = catalogue_load(t_tmpdir(), &errors);
	if (cat != NULL) {
		catalogue_free(cat);
		t_fail(__FILE__, __LINE__, "bad catalogue loaded");
		return NULL;
	}
	T_OK(errors != NULL);
	return errors;
}

/* "DIR/name:line:col: " */
static char *
at(const char *name, int line, int col)
{
	return xasprintf("%s/%s:%d:%d: ", t_tmpdir(), name, line, col);
}

static void
expect_error(const char *errors, const char *name, int line, int col,
    const char *msg)
{
	char	*want = at(name, line, col), *full;

	full = xasprintf("%s%s", want, msg);
	T_CONTAINS(errors, full);
	free(full);
	free(want);
}

static const char *const required_names[] = { "help", "whoami", "status",
    "nodes", "guests", "guest", "start", "stop", "shutdown", "reboot",
    "suspend", "resume", "snapshots", "snapshot", "rollback", "delsnap",
    "backup", "backups", "migrate", "clone", "unlock", "tasks", "task",
    "jobs", "job", "cancel", "approve", "deny", "alerts", "silence",
    "unsilence", "sensors", "digest", "explain", "hostsnap", "hostsnaps",
    "hostsnap-remove", "quorum", "storage", "service", "updates", "gpu" };

static void
shipped_catalogue_loads(void)
{
	struct catalogue	*cat;
	const struct cmd_def	*d;
	char			*errors = NULL;
	size_t			 i;

	cat = catalogue_load("commands", &errors);
	T_OK(cat != NULL);
	if (cat == NULL) {
		printf("%s", errors);
		free(errors);
		return;
	}
	for (i = 0; i < nitems(required_names); i++) {
		d = catalogue_find(cat, required_names[i]);
		if (d == NULL)
			t_fail(__FILE__, __LINE__, "no command %s",
			    required_names[i]);
		else if (d->action == NULL || d->summary == NULL ||
		    d->usage == NULL)
			t_fail(__FILE__, __LINE__, "%s incomplete",
			    required_names[i]);
	}
	for (i = 0; i < catalogue_count(cat); i++) {
		d = catalogue_get(cat, i);
		/* Every state change goes through the API or SSH. */
		if (d->exec == CMD_EXEC_BUILTIN)
			T_OK(d->builtin != NULL);
		T_OK(d->file != NULL && d->line > 0);
	}
	T_OK(catalogue_get(cat, catalogue_count(cat)) == NULL);

	d = catalogue_find(cat, "Start");
	T_EQ_INT(d->exec, CMD_EXEC_PROXMOX);
	T_EQ_STR(d->proxmox.method, "POST");
	T_EQ_STR(d->proxmox.path, "/nodes/{node}/{type}/{vmid}/status/start");
	T_EQ_INT(d->proxmox.task, 1);
	T_EQ_INT(d->mutating, 1);
	T_EQ_STR(d->action, "guest.start");
	T_CONTAINS(d->file, "commands/guests.yaml");

	d = catalogue_find(cat, "snapshot");
	T_EQ_STR(d->usage, "snapshot GUEST NAME [REASON]");
	T_EQ_INT(d->proxmox.nparams_qemu, 1);
	T_EQ_STR(d->proxmox.params_qemu[0].key, "vmstate");
	T_EQ_INT(d->proxmox.nparams_lxc, 0);

	d = catalogue_find(cat, "delsnap");
	T_EQ_STR(d->proxmox.method, "DELETE");
	T_EQ_STR(d->action, "guest.snapshot.delete");

	d = catalogue_find(cat, "backup");
	T_EQ_STR(d->proxmox.path, "/nodes/{node}/vzdump");
	T_EQ_INT(d->heavy, 1);

	/* No API call can unlock: qm / pct on the guest's node. */
	d = catalogue_find(cat, "unlock");
	T_EQ_INT(d->exec, CMD_EXEC_SSH);
	T_EQ_STR(d->ssh.host_arg, "guest");
	T_EQ_INT(d->ssh.host_guest, 1);
	T_EQ_INT(d->ssh.sudo, 1);
	T_OK(d->ssh.argv == NULL);
	T_EQ_INT(d->ssh.nargv_qemu, 3);
	T_EQ_STR(d->ssh.argv_qemu[0], "qm");
	T_EQ_STR(d->ssh.argv_lxc[0], "pct");
	T_EQ_STR(d->ssh.argv_lxc[2], "{vmid}");
	T_EQ_STR(d->action, "guest.unlock");
	T_EQ_INT(d->mutating, 1);

	d = catalogue_find(cat, "guests");
	T_EQ_INT(d->exec, CMD_EXEC_BUILTIN);
	T_EQ_INT(d->mutating, 0);

	d = catalogue_find(cat, "hostsnap_remove");
	T_OK(d != NULL && strcmp(d->name, "hostsnap-remove") == 0);
	T_EQ_INT(d->exec, CMD_EXEC_SSH);
	T_EQ_STR(d->ssh.host_arg, "node");
	T_EQ_INT(d->ssh.nargv, 3);
	T_EQ_STR(d->ssh.argv[2], "{volume}");

	d = catalogue_find(cat, "updates");
	T_EQ_INT(d->mutating, 0);
	T_EQ_INT(d->ssh.timeout, 120);
	catalogue_free(cat);
}

static void
syntax_error(void)
{
	char	*errors;

	t_write("bad.yaml",
	    "commands:\n"
	    "  - name: start\n"
	    "    summary: [unclosed\n"
	    "    action: guest.start\n", 0644);
	errors = load_errors();
	expect_error(errors, "bad.yaml", 4, 11, "YAML syntax error: did not "
	    "find expected ',' or ']'");
	free(errors);
}

static void
unknown_and_missing_keys(void)
{
	char	*errors;

	t_write("a.yaml",
	    "commands:\n"
	    "  - name: start\n"
	    "    sumary: Start a guest\n"
	    "    action: guest.start\n"
	    "    builtin: start\n"
	    "    args:\n"
	    "      - name: guest\n"
	    "        type: guest\n"
	    "        optinal: true\n", 0644);
	errors = load_errors();
	expect_error(errors, "a.yaml", 3, 5, "command: unknown key 'sumary'");
	expect_error(errors, "a.yaml", 2, 5,
	    "command: missing required key 'summary'");
	expect_error(errors, "a.yaml", 9, 9, "argument: unknown key 'optinal'");
	free(errors);
}

static void
duplicate_alias_across_files(void)
{
	char	*errors, *first;

	t_write("a.yaml",
	    "commands:\n"
	    "  - name: start\n"
	    "    aliases: [up]\n"
	    "    summary: Start\n"
	    "    action: guest.start\n"
	    "    builtin: start\n", 0644);
	t_write("b.yaml",
	    "commands:\n"
	    "  - name: boot\n"
	    "    summary: Boot\n"
	    "    aliases: [power, UP]\n"
	    "    action: guest.start\n"
	    "    builtin: boot\n"
	    "  - name: Start\n"
	    "    summary: again\n"
	    "    action: guest.start\n"
	    "    builtin: start\n", 0644);
	errors = load_errors();
	first = xasprintf("(%s/a.yaml:3:15)", t_tmpdir());
	expect_error(errors, "b.yaml", 4, 22, "'UP' is already used by command "
	    "'start' (");
	T_CONTAINS(errors, first);
	/* The loader goes on: the second duplicate is reported too. */
	expect_error(errors, "b.yaml", 7, 11, "name 'Start': use lower-case");
	expect_error(errors, "b.yaml", 7, 11, "'Start' is already used");
	free(first);
	free(errors);
}

static void
spliced_ssh_placeholder(void)
{
	char	*errors;

	t_write("ssh.yaml",
	    "commands:\n"
	    "  - name: rmsnap\n"
	    "    summary: Remove a host snapshot\n"
	    "    action: host.snapshot.delete\n"
	    "    args:\n"
	    "      - {name: node, type: node}\n"
	    "      - {name: lv, type: snapshot}\n"
	    "      - {name: why, type: reason, optional: true}\n"
	    "    ssh:\n"
	    "      host: node\n"
	    "      argv: [lvremove, -y, \"pve/{lv}\", \"{nope}\", \"{why}\"]\n",
	    0644);
	errors = load_errors();
	expect_error(errors, "ssh.yaml", 11, 28, "argv element 'pve/{lv}' "
	    "mixes constant text with a placeholder");
	expect_error(errors, "ssh.yaml", 11, 40, "argv '{nope}': unknown "
	    "placeholder '{nope}'");
	expect_error(errors, "ssh.yaml", 11, 50, "argv '{why}': free text");
	free(errors);
}

/* SSH on a guest's node: host names the guest, argv by its type. */
static void
ssh_on_a_guest(void)
{
	char	*errors;

	t_write("g.yaml",
	    "commands:\n"
	    "  - name: a\n"
	    "    summary: A\n"
	    "    action: guest.a\n"
	    "    args:\n"
	    "      - {name: guest, type: guest, optional: true}\n"
	    "    ssh: {host: guest, argv: [qm, unlock, \"{vmid}\"]}\n"
	    "  - name: b\n"
	    "    summary: B\n"
	    "    action: guest.b\n"
	    "    args:\n"
	    "      - {name: guest, type: guest}\n"
	    "    ssh: {host: guest, argv_qemu: [qm, unlock, \"{vmid}\"]}\n"
	    "  - name: c\n"
	    "    summary: C\n"
	    "    action: guest.c\n"
	    "    args:\n"
	    "      - {name: guest, type: guest}\n"
	    "    ssh: {host: guest, argv: [qm], argv_lxc: [pct]}\n"
	    "  - name: d\n"
	    "    summary: D\n"
	    "    action: host.d\n"
	    "    args:\n"
	    "      - {name: node, type: node}\n"
	    "    ssh: {host: node, argv_qemu: [qm], argv_lxc: [pct]}\n"
	    "  - name: e\n"
	    "    summary: E\n"
	    "    action: guest.e\n"
	    "    args:\n"
	    "      - {name: guest, type: guest}\n"
	    "    ssh: {host: guest, argv_qemu: [qm, \"x{vmid}\"], "
	    "argv_lxc: [pct, \"{vmid}\"]}\n"
	    "  - name: f\n"
	    "    summary: F\n"
	    "    action: host.f\n"
	    "    args:\n"
	    "      - {name: node, type: node}\n"
	    "    ssh: {host: node, argv: [pct, \"{vmid}\"]}\n", 0644);
	errors = load_errors();
	expect_error(errors, "g.yaml", 7, 17, "host: 'guest' is not a "
	    "required node or guest argument of this command");
	expect_error(errors, "g.yaml", 13, 10, "ssh: needs argv, or "
	    "argv_qemu and argv_lxc");
	expect_error(errors, "g.yaml", 19, 46, "ssh: argv, or argv_qemu and "
	    "argv_lxc, not both");
	expect_error(errors, "g.yaml", 25, 34, "argv_qemu: only for commands "
	    "with a guest argument");
	expect_error(errors, "g.yaml", 31, 40, "argv element 'x{vmid}' mixes "
	    "constant text with a placeholder");
	expect_error(errors, "g.yaml", 37, 35, "argv '{vmid}': unknown "
	    "placeholder '{vmid}'");
	free(errors);
}

static void
unsafe_templates_and_args(void)
{
	char	*errors;

	t_write("x.yaml",
	    "commands:\n"
	    "  - name: one\n"
	    "    summary: One\n"
	    "    action: guest.start\n"
	    "    mutating: false\n"
	    "    args:\n"
	    "      - {name: guest, type: guest, optional: true}\n"
	    "      - {name: snap, type: snapshot}\n"
	    "    proxmox:\n"
	    "      method: POST\n"
	    "      path: /nodes/{node}/{type}/{vmid}/snapshot/{snapname}\n"
	    "  - name: two\n"
	    "    summary: Two\n"
	    "    action: host.x\n"
	    "    args:\n"
	    "      - {name: text, type: reason}\n"
	    "      - {name: node, type: node}\n"
	    "      - {name: n, type: int}\n"
	    "      - {name: m, type: colour}\n"
	    "      - {name: k, type: int, min: -5, max: 5}\n"
	    "    ssh: {host: node, argv: [\"{node}\", \"{k}\"], timeout: 2d}\n"
	    "  - name: three\n"
	    "    summary: Three\n"
	    "    action: host.x\n"
	    "    args:\n"
	    "      - {name: node, type: node}\n"
	    "      - {name: name, type: snapshot, optional: true}\n"
	    "    ssh: {host: node, argv: [lvcreate, \"{name}\"]}\n"
	    "    builtin: three\n", 0644);
	errors = load_errors();
	expect_error(errors, "x.yaml", 5, 15, "mutating: a POST changes state");
	expect_error(errors, "x.yaml", 8, 9, "argument 'snap': a required "
	    "argument cannot follow an optional one");
	expect_error(errors, "x.yaml", 11, 13, "path '/nodes/{node}/{type}/"
	    "{vmid}/snapshot/{snapname}': unknown placeholder '{snapname}'");
	expect_error(errors, "x.yaml", 17, 9, "argument 'node': nothing can "
	    "follow a reason argument");
	expect_error(errors, "x.yaml", 18, 9, "argument n: an int needs min "
	    "and max");
	T_NOT_CONTAINS(errors, "min is above max");
	expect_error(errors, "x.yaml", 19, 25, "type: unknown argument type "
	    "'colour'");
	expect_error(errors, "x.yaml", 21, 30, "argv: the program must be a "
	    "constant");
	expect_error(errors, "x.yaml", 21, 40, "argv '{k}': {k} may be "
	    "negative and read as an option");
	expect_error(errors, "x.yaml", 21, 57, "timeout: expected a duration");
	/* An unknown type is not taken for a guest. */
	T_NOT_CONTAINS(errors, "clashes");
	expect_error(errors, "x.yaml", 28, 40, "argv: optional argument 'name' "
	    "has no default");
	expect_error(errors, "x.yaml", 29, 14, "builtin: only a read command");
	free(errors);
}

static void
wrong_shapes(void)
{
	char	*errors;

	t_write("a.yaml", "- just a list\n", 0644);
	t_write("b.yaml",
	    "commands:\n"
	    "  - name: ok\n"
	    "    summary: Fine\n"
	    "    action: x.read\n"
	    "    builtin: ok\n"
	    "    heavy: maybe\n"
	    "    aliases: yes\n"
	    "extra: 1\n", 0644);
	t_write("c.yaml", "", 0644);
	t_write("d.yaml",
	    "commands:\n"
	    "  - name: two\n"
	    "    summary: Two\n"
	    "    action: guest.x\n"
	    "    args:\n"
	    "      - {name: guest, type: guest}\n"
	    "      - {name: guest, type: node}\n"
	    "      - {name: node, type: node}\n"
	    "    proxmox: {method: GET, path: /cluster/resources,\n"
	    "      params: {Bad.Name: x}}\n", 0644);
	t_write("notes.txt", "not yaml at all: [", 0644);
	errors = load_errors();
	expect_error(errors, "a.yaml", 1, 1, "file: expected a mapping");
	expect_error(errors, "b.yaml", 6, 12, "heavy: expected true or false");
	expect_error(errors, "b.yaml", 7, 14, "aliases: expected a list");
	expect_error(errors, "b.yaml", 8, 1, "file: unknown key 'extra'");
	expect_error(errors, "d.yaml", 7, 9, "argument 'guest' appears twice");
	expect_error(errors, "d.yaml", 2, 5, "argument 'node' clashes with "
	    "the guest's {node}");
	expect_error(errors, "d.yaml", 10, 16, "params: 'Bad.Name' is not a "
	    "parameter name");
	T_NOT_CONTAINS(errors, "notes.txt");
	T_NOT_CONTAINS(errors, "c.yaml");
	free(errors);
}

static void
missing_folder_and_empty(void)
{
	char	*errors = NULL, *path;

	path = t_path("nowhere");
	T_OK(catalogue_load(path, &errors) == NULL);
	T_CONTAINS(errors, "nowhere: cannot read the commands folder");
	free(errors);
	free(path);

	t_write("empty.yaml", "commands: []\n", 0644);
	errors = load_errors();
	T_CONTAINS(errors, "no commands found");
	free(errors);
}

static void
local_folder_layered(void)
{
	struct catalogue	*cat;
	const struct cmd_def	*d;
	char			*errors = NULL, *local = t_path("local");
	char			*want;
	const char		*dirs[2] = { "commands", local };

	T_EQ_INT(mkdir(local, 0755), 0);
	/* Replaces the shipped ssh.yaml (hostsnap and the rest) ... */
	t_write("local/ssh.yaml",
	    "commands:\n"
	    "  - name: ping\n"
	    "    summary: Ping\n"
	    "    action: meta.ping\n"
	    "    builtin: ping\n", 0644);
	/* ... and adds a file of its own. */
	t_write("local/site.yaml",
	    "commands:\n"
	    "  - name: pong\n"
	    "    summary: Pong\n"
	    "    action: meta.pong\n"
	    "    builtin: ping\n", 0644);
	cat = catalogue_load_dirs(dirs, 2, &errors);
	T_OK(cat != NULL);
	if (cat == NULL) {
		printf("%s", errors);
		goto out;
	}
	d = catalogue_find(cat, "ping");
	T_OK(d != NULL);
	want = xasprintf("%s/ssh.yaml", local);
	if (d != NULL)
		T_EQ_STR(d->file, want);
	free(want);
	T_OK(catalogue_find(cat, "pong") != NULL);
	T_OK(catalogue_find(cat, "hostsnap") == NULL);
	T_OK(catalogue_find(cat, "start") != NULL);
	catalogue_free(cat);

	/* A local folder that is not there is an error, not ignored. */
	dirs[1] = "no-such-local-folder";
	T_OK(catalogue_load_dirs(dirs, 2, &errors) == NULL);
	T_CONTAINS(errors, "no-such-local-folder: cannot read the commands "
	    "folder");
out:
	free(errors);
	free(local);
}

static void
load_from_string(void)
{
	struct catalogue	*cat;
	char			*errors = NULL;
	const char		*y =
	    "commands:\n"
	    "  - name: ping\n"
	    "    summary: Ping\n"
	    "    action: meta.ping\n"
	    "    builtin: ping\n";

	cat = catalogue_load_string("mem.yaml", y, strlen(y), &errors);
	T_OK(cat != NULL);
	T_EQ_INT(catalogue_count(cat), 1);
	T_EQ_STR(catalogue_get(cat, 0)->usage, "ping");
	T_EQ_STR(catalogue_get(cat, 0)->group, "mem");
	catalogue_free(cat);
	T_OK(errors == NULL);
}

int
main(void)
{
	T_RUN(shipped_catalogue_loads);
	T_RUN(syntax_error);
	T_RUN(unknown_and_missing_keys);
	T_RUN(duplicate_alias_across_files);
	T_RUN(spliced_ssh_placeholder);
	T_RUN(ssh_on_a_guest);
	T_RUN(unsafe_templates_and_args);
	T_RUN(wrong_shapes);
	T_RUN(missing_folder_and_empty);
	T_RUN(load_from_string);
	T_RUN(local_folder_layered);
	return t_summary();
}
