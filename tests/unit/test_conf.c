/*
 * Config tests: a good file, and one test per kind of bad file, each
 * asserting the exact file:line:column a user would be pointed to.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "t.h"
#include "util.h"

static struct conf *
load_text(const char *name, const char *text, char **errors)
{
	const char	*path = t_write(name, text, 0644);
	char		*copy = xstrdup(path);
	struct conf	*c = conf_load(copy, errors);

	free(copy);
	return c;
}

/* The message for `file` must contain "name:line:col: " and `what`. */
static void
expect_error(const char *errors, const char *name, int line, int col,
    const char *what)
{
	char	*where = xasprintf("%s/%s:%d:%d: ", t_tmpdir(), name, line,
	    col);

	T_CONTAINS(errors, where);
	T_CONTAINS(errors, what);
	free(where);
}

static void
test_good_file(void)
{
	char		*errors = NULL;
	struct conf	*c;

	t_write("tg.token", "123456:ABC-secret-token\n", 0600);
	setenv("T_PVE_SECRET", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", 1);
	c = load_text("good.conf",
	    "database: state/pvebot.db\n"
	    "chat:\n"
	    "  max_command_age: 2m\n"
	    "  telegram:\n"
	    "    token_file: tg.token\n"
	    "    chats:\n"
	    "      - id: \"-100123\"\n"
	    "        alerts: true\n"
	    "      - \"42\"\n"
	    "    users: [\"7\", \"8\"]\n"
	    "proxmox:\n"
	    "  urls: [https://127.0.0.1:8006/api2/json]\n"
	    "  token_id: pvebot@pve!bot\n"
	    "  secret_env: T_PVE_SECRET\n"
	    "ssh:\n"
	    "  hosts:\n"
	    "    - {name: pve1, node: pve1, address: 127.0.0.1, port: 2222,\n"
	    "       key_file: /k, known_hosts: /kh}\n"
	    "workers: {count: 3}\n", &errors);
	T_OK(c != NULL);
	if (c == NULL) {
		printf("%s", errors);
		free(errors);
		return;
	}
	T_EQ_INT(c->chat.max_command_age, 120);
	T_OK(c->chat.telegram.enabled);
	T_OK(!c->chat.matrix.enabled);
	T_EQ_STR(c->chat.telegram.token, "123456:ABC-secret-token");
	T_EQ_INT(c->chat.telegram.nchats, 2);
	T_EQ_STR(c->chat.telegram.chats[0].id, "-100123");
	T_OK(c->chat.telegram.chats[0].alerts);
	T_EQ_STR(c->chat.telegram.chats[1].id, "42");
	T_OK(!c->chat.telegram.chats[1].alerts);
	T_OK(c->chat.telegram.chats[1].commands);
	T_EQ_INT(c->chat.telegram.nusers, 2);
	T_EQ_INT(c->chat.telegram.poll_timeout, 30);
	T_EQ_STR(c->chat.telegram.api_url, "https://api.telegram.org");
	T_EQ_STR(c->proxmox.secret, "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
	T_EQ_INT(c->proxmox.connect_timeout, 5);
	T_EQ_INT(c->ssh.hosts[0].port, 2222);
	T_EQ_STR(conf_ssh_host_find(c, "pve1")->address, "127.0.0.1");
	T_EQ_INT(c->workers.count, 3);
	T_EQ_INT(c->workers.heavy_per_node, 1);
	{
		char	*db = xasprintf("%s/state/pvebot.db", t_tmpdir());

		T_EQ_STR(c->database, db);
		free(db);
	}
	conf_free(c);
}

static void
test_example_file_passes(void)
{
	char		*errors = NULL;
	struct conf	*c = conf_load("bot.conf.example", &errors);

	T_OK(c != NULL);
	if (c == NULL)
		printf("%s", errors);
	free(errors);
	conf_free(c);
}

static void
test_syntax_error(void)
{
	char	*errors = NULL;

	T_OK(load_text("syntax.conf",
	    "chat:\n"
	    "  telegram:\n"
	    "    chats: [1, 2\n"
	    "workers: {count: 2}\n", &errors) == NULL);
	T_CONTAINS(errors, "syntax.conf:4:");
	T_CONTAINS(errors, "YAML syntax error");
	free(errors);
}

static void
test_unknown_key(void)
{
	char	*errors = NULL;

	T_OK(load_text("typo.conf",
	    "workers:\n"
	    "  count: 2\n"
	    "  heavy_per_nod: 1\n", &errors) == NULL);
	expect_error(errors, "typo.conf", 3, 3,
	    "unknown key 'heavy_per_nod' in workers");
	free(errors);
}

static void
test_wrong_type(void)
{
	char	*errors = NULL;

	T_OK(load_text("type.conf",
	    "workers:\n"
	    "  count: many\n"
	    "chat:\n"
	    "  max_command_age: soon\n"
	    "  console: {enabled: perhaps}\n", &errors) == NULL);
	expect_error(errors, "type.conf", 2, 10,
	    "count: expected an integer from 1 to 64, got 'many'");
	expect_error(errors, "type.conf", 4, 20, "'soon' is not a duration");
	expect_error(errors, "type.conf", 5, 22,
	    "enabled: expected true or false, got 'perhaps'");
	free(errors);
}

static void
test_missing_required(void)
{
	char	*errors = NULL;

	T_OK(load_text("missing.conf",
	    "ssh:\n"
	    "  hosts:\n"
	    "    - name: pve1\n"
	    "      key_file: /k\n"
	    "      known_hosts: /kh\n", &errors) == NULL);
	expect_error(errors, "missing.conf", 3, 7,
	    "missing required key 'address'");
	free(errors);
}

static void
test_world_readable_secret(void)
{
	char	*errors = NULL;

	t_write("open.token", "123456:ABC-secret-token\n", 0644);
	T_OK(load_text("perm.conf",
	    "chat:\n"
	    "  telegram:\n"
	    "    token_file: open.token\n", &errors) == NULL);
	expect_error(errors, "perm.conf", 3, 17,
	    "is readable by group or others (mode 0644)");
	T_NOT_CONTAINS(errors, "ABC-secret-token");
	free(errors);
}

static void
test_inline_secret_refused(void)
{
	char	*errors = NULL;

	T_OK(load_text("inline.conf",
	    "chat:\n"
	    "  telegram:\n"
	    "    token: 123456:ABC-secret-token\n", &errors) == NULL);
	expect_error(errors, "inline.conf", 3, 5,
	    "secrets are never inline");
	free(errors);
}

static void
test_all_errors_reported(void)
{
	char	*errors = NULL, *p;
	int	 n = 0;

	T_OK(load_text("many.conf",
	    "databse: x.db\n"
	    "workers: {count: 0}\n"
	    "digest: {time: \"25:00\", timezone: Mars/Olympus}\n"
	    "proxmox: {fingerprint: \"AA:BB\"}\n", &errors) == NULL);
	for (p = errors; p != NULL && (p = strchr(p, '\n')) != NULL; p++)
		n++;
	T_EQ_INT(n, 5);
	expect_error(errors, "many.conf", 1, 1, "unknown key 'databse'");
	expect_error(errors, "many.conf", 2, 18, "count");
	expect_error(errors, "many.conf", 3, 16, "expected a time HH:MM");
	expect_error(errors, "many.conf", 3, 35, "unknown time zone");
	expect_error(errors, "many.conf", 4, 24, "32 hex pairs");
	free(errors);
}

/* Zone names are checked against the zone files, not just the folder. */
static void
test_time_zones(void)
{
	struct conf	*c;
	char		*errors = NULL;

	c = load_text("tz.conf",
	    "monitor:\n"
	    "  timezone: Europe\n"
	    "digest:\n"
	    "  timezone: leapseconds\n", &errors);
	T_OK(c == NULL);
	conf_free(c);
	expect_error(errors, "tz.conf", 2, 13, "timezone: 'Europe' is a "
	    "region, not a time zone");
	expect_error(errors, "tz.conf", 4, 13, "timezone: time zone "
	    "'leapseconds': /usr/share/zoneinfo/leapseconds: not a TZif file");
	free(errors);
	errors = NULL;
	c = load_text("tz2.conf",
	    "monitor: {timezone: \"Europe/../../etc/localtime\"}\n",
	    &errors);
	T_OK(c == NULL);
	conf_free(c);
	expect_error(errors, "tz2.conf", 1, 21, "is not a time zone name");
	free(errors);
}

int
main(void)
{
	T_RUN(test_good_file);
	T_RUN(test_example_file_passes);
	T_RUN(test_syntax_error);
	T_RUN(test_unknown_key);
	T_RUN(test_wrong_type);
	T_RUN(test_missing_required);
	T_RUN(test_world_readable_secret);
	T_RUN(test_inline_secret_refused);
	T_RUN(test_all_errors_reported);
	T_RUN(test_time_zones);
	return t_summary();
}
