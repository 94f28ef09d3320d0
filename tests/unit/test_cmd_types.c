/*
 * test_cmd_types.c - the argument types, value by value: every edge a
 * user can hit, and the message they get.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "t.h"
#include "util.h"

struct type_case {
	enum arg_type	 type;
	const char	*value;
	int		 ok;
	const char	*msg;	/* substring of the cause when !ok */
};

static char	*size_enums[] = { "snapshot", "suspend", "stop" };

static void
make_arg(struct cmd_arg *a, enum arg_type t, regex_t *re)
{
	memset(a, 0, sizeof *a);
	a->name = "value";
	a->type = t;
	if (t == ARG_INT) {
		a->name = "count";
		a->min = 1;
		a->max = 10;
	}
	if (t == ARG_ENUM) {
		a->name = "mode";
		a->enums = size_enums;
		a->nenums = 3;
	}
	if (t == ARG_WORD) {
		a->name = "unit";
		a->help = "a unit name";
		regcomp(re, "^([a-z][a-z0-9.-]{0,15})$",
		    REG_EXTENDED | REG_NOSUB);
		a->regex = re;
	}
	if (t == ARG_REASON)
		a->name = "reason";
}

static void
run_table(const struct type_case *tc, size_t n)
{
	struct cmd_arg	 a;
	regex_t		 re;
	size_t		 i;

	for (i = 0; i < n; i++) {
		char	*cause = NULL;
		int	 rc;

		make_arg(&a, tc[i].type, &re);
		rc = cmd_validate_arg(&a, tc[i].value, &cause);
		if ((rc == 0) != tc[i].ok)
			t_fail(__FILE__, __LINE__, "%s '%.60s': got %s (%s)",
			    cmd_arg_type_name(tc[i].type), tc[i].value,
			    rc == 0 ? "valid" : "invalid",
			    cause ? cause : "");
		else if (!tc[i].ok && (cause == NULL ||
		    strstr(cause, tc[i].msg) == NULL))
			t_fail(__FILE__, __LINE__, "%s '%.60s': message \"%s\" "
			    "lacks \"%s\"", cmd_arg_type_name(tc[i].type),
			    tc[i].value, cause ? cause : "(null)", tc[i].msg);
		else if (!tc[i].ok && strchr(cause, '\n') != NULL)
			t_fail(__FILE__, __LINE__, "message is not one line");
		free(cause);
		if (tc[i].type == ARG_WORD)
			regfree(&re);
	}
}

static void
guest_and_vmid(void)
{
	char	name63[64], name64[65];
	struct type_case tc[] = {
		{ ARG_GUEST, "99", 0, "out of range" },
		{ ARG_GUEST, "100", 1, NULL },
		{ ARG_GUEST, "101", 1, NULL },
		{ ARG_GUEST, "999999999", 1, NULL },
		{ ARG_GUEST, "1000000000", 0, "out of range" },
		{ ARG_GUEST, "99999999999999999999999", 0, "out of range" },
		{ ARG_GUEST, "0101", 0, "must not start with 0" },
		{ ARG_GUEST, "web-01", 1, NULL },
		{ ARG_GUEST, "monitoring-db", 1, NULL },
		{ ARG_GUEST, "web01.example.org", 1, NULL },
		{ ARG_GUEST, "Web-01", 1, NULL },
		{ ARG_GUEST, "-web", 0, "is not a guest" },
		{ ARG_GUEST, "web-", 0, "is not a guest" },
		{ ARG_GUEST, "web..x", 0, "is not a guest" },
		{ ARG_GUEST, "web_01", 0, "is not a guest" },
		{ ARG_GUEST, "101;", 0, "is not a guest" },
		{ ARG_GUEST, "$(reboot)", 0, "is not a guest" },
		{ ARG_GUEST, "`reboot`", 0, "is not a guest" },
		{ ARG_GUEST, "a/../b", 0, "is not a guest" },
		{ ARG_GUEST, name64, 0, "too long" },
		{ ARG_GUEST, name63, 1, NULL },
		{ ARG_GUEST, "", 0, "empty" },
		{ ARG_VMID, "120", 1, NULL },
		{ ARG_VMID, "99", 0, "out of range" },
		{ ARG_VMID, "web-02", 0, "is not a VMID" },
		{ ARG_VMID, "-120", 0, "is not a VMID" },
	};

	memset(name63, 'a', 63);
	name63[63] = '\0';
	memset(name64, 'b', 64);
	name64[64] = '\0';
	run_table(tc, nitems(tc));
}

static void
node_snapshot_storage(void)
{
	static const struct type_case tc[] = {
		{ ARG_NODE, "pve1", 1, NULL },
		{ ARG_NODE, "pve-2", 1, NULL },
		{ ARG_NODE, "1pve", 1, NULL },
		{ ARG_NODE, "-pve", 0, "is not a node name" },
		{ ARG_NODE, "pve-", 0, "is not a node name" },
		{ ARG_NODE, "pve.lan", 0, "is not a node name" },
		{ ARG_NODE, "pve1;reboot", 0, "is not a node name" },
		{ ARG_NODE, "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
		    "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn", 0, "too long" },
		{ ARG_SNAPSHOT, "pre-upgrade", 1, NULL },
		{ ARG_SNAPSHOT, "safety_1", 1, NULL },
		{ ARG_SNAPSHOT, "a1", 1, NULL },
		{ ARG_SNAPSHOT, "a", 0, "2 to 40" },
		{ ARG_SNAPSHOT, "1st", 0, "must start with a letter" },
		{ ARG_SNAPSHOT, "_x", 0, "must start with a letter" },
		{ ARG_SNAPSHOT, "pre.upgrade", 0, "only letters" },
		{ ARG_SNAPSHOT, "pre upgrade", 0, "only letters" },
		{ ARG_SNAPSHOT, "current", 0, "reserved" },
		/* 40 and 41 characters. */
		{ ARG_SNAPSHOT, "s234567890123456789012345678901234567890", 1,
		    NULL },
		{ ARG_SNAPSHOT, "s2345678901234567890123456789012345678901", 0,
		    "2 to 40" },
		{ ARG_STORAGE, "local", 1, NULL },
		{ ARG_STORAGE, "local-lvm", 1, NULL },
		{ ARG_STORAGE, "nas-backup", 1, NULL },
		{ ARG_STORAGE, "NAS_Backup.2", 1, NULL },
		{ ARG_STORAGE, "l", 0, "is not a storage id" },
		{ ARG_STORAGE, "1local", 0, "is not a storage id" },
		{ ARG_STORAGE, "local-", 0, "is not a storage id" },
		{ ARG_STORAGE, "local/..", 0, "is not a storage id" },
	};

	run_table(tc, nitems(tc));
}

static void
duration_int_enum_word(void)
{
	static const struct type_case tc[] = {
		{ ARG_DURATION, "90s", 1, NULL },
		{ ARG_DURATION, "15m", 1, NULL },
		{ ARG_DURATION, "2h", 1, NULL },
		{ ARG_DURATION, "7d", 1, NULL },
		{ ARG_DURATION, "1d12h", 1, NULL },
		{ ARG_DURATION, "0s", 0, "is not a duration" },
		{ ARG_DURATION, "90", 0, "is not a duration" },
		{ ARG_DURATION, "2x", 0, "is not a duration" },
		{ ARG_DURATION, "h", 0, "is not a duration" },
		{ ARG_DURATION, "-5m", 0, "is not a duration" },
		{ ARG_DURATION, "99999999999d", 0, "is not a duration" },
		{ ARG_INT, "1", 1, NULL },
		{ ARG_INT, "10", 1, NULL },
		{ ARG_INT, "0", 0, "out of range (1 to 10)" },
		{ ARG_INT, "11", 0, "out of range (1 to 10)" },
		{ ARG_INT, "-1", 0, "out of range" },
		{ ARG_INT, "1e3", 0, "not a whole number" },
		{ ARG_INT, "0x10", 0, "not a whole number" },
		{ ARG_INT, "5;", 0, "not a whole number" },
		{ ARG_ENUM, "stop", 1, NULL },
		{ ARG_ENUM, "STOP", 1, NULL },
		{ ARG_ENUM, "halt", 0,
		    "choose one of snapshot, suspend, stop" },
		{ ARG_WORD, "pveproxy", 1, NULL },
		{ ARG_WORD, "nginx.service", 1, NULL },
		{ ARG_WORD, "-rf", 0, "must not start with '-'" },
		{ ARG_WORD, "Nginx", 0, "not a valid unit: a unit name" },
		{ ARG_WORD, "a;b", 0, "not a valid unit" },
		{ ARG_WORD, "abcdefghijklmnopq", 0, "not a valid unit" },
	};

	run_table(tc, nitems(tc));
}

static void
reason_upid_matcher(void)
{
	char	long_reason[256];
	struct type_case tc[] = {
		{ ARG_REASON, "before the kernel update; it's fine", 1, NULL },
		{ ARG_REASON, "überprüft ✓", 1, NULL },
		{ ARG_REASON, "line\nbreak", 0, "control characters" },
		{ ARG_REASON, "bad \xff byte", 0, "invalid UTF-8" },
		{ ARG_REASON, "fine \xe2\x80\xae" "txt.exe", 0,
		    "text-direction override" },
		{ ARG_REASON, long_reason, 0, "too long (201 characters" },
		{ ARG_UPID, "UPID:pve1:000A1B2C:0123ABCD:6561F00D:qmstart:101:"
		    "root@pam:", 1, NULL },
		{ ARG_UPID, "UPID:pve2:00001234:012345678:6561F00D:vzdump::"
		    "pvebot@pve!bot:", 1, NULL },
		{ ARG_UPID, "UPID:pve1:000A1B2C:0123ABCD:6561F00D:qmstart:101:"
		    "root@pam", 0, "is not a task id" },
		{ ARG_UPID, "UPID:pve1:XYZ:0123ABCD:6561F00D:qmstart:101:"
		    "root@pam:", 0, "is not a task id" },
		{ ARG_UPID, "UPID:pve1:000A1B2C:0123ABCD:6561F00D:qm start:"
		    "101:root@pam:", 0, "is not a task id" },
		{ ARG_UPID, "UPID:pve1:000A1B2C:0123ABCD:6561F00D:qmstart:101:"
		    "root:", 0, "is not a task id" },
		{ ARG_UPID, "101", 0, "is not a task id" },
		{ ARG_MATCHER, "node=pve2", 1, NULL },
		{ ARG_MATCHER, "alert=12", 1, NULL },
		{ ARG_MATCHER, "node=pve*,storage=nas-backup", 1, NULL },
		{ ARG_MATCHER, "target=storage:local", 1, NULL },
		{ ARG_MATCHER, "alert=12x", 0, "not a valid alert" },
		{ ARG_MATCHER, "node=$(reboot)", 0, "not a valid node" },
		{ ARG_MATCHER, "rule=cpu_high,guest=106", 1, NULL },
		{ ARG_MATCHER, "severity=warning,node=pve1,guest=web-01", 1,
		    NULL },
		{ ARG_MATCHER, "node=pve2,node=pve3", 0, "names node twice" },
		{ ARG_MATCHER, "host=pve2", 0, "is not a matcher" },
		{ ARG_MATCHER, "pve2", 0, "is not a matcher" },
		{ ARG_MATCHER, "severity=loud", 0, "is not a valid severity" },
		{ ARG_MATCHER, "guest=99", 0, "is not a valid guest" },
		{ ARG_MATCHER, "node=", 0, "is not a valid node" },
		{ ARG_MATCHER, "node=pve1,", 0, "is not a matcher" },
	};

	memset(long_reason, 'r', 201);
	long_reason[201] = '\0';
	run_table(tc, nitems(tc));
}

int
main(void)
{
	T_RUN(guest_and_vmid);
	T_RUN(node_snapshot_storage);
	T_RUN(duration_int_enum_word);
	T_RUN(reason_upid_matcher);
	return t_summary();
}
