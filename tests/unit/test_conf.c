/*
 * Config tests: a good file, and one test per kind of bad file, each
 * asserting the exact file:line:column a user would be pointed to; secret
 * files named in systemd's ${CREDENTIALS_DIRECTORY}; local_commands.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* workers.retention: each entry keeps something, a storage once. */
static void
test_retention(void)
{
	char		*errors = NULL;
	struct conf	*c;

	T_OK(load_text("ret.conf",
	    "workers:\n"
	    "  retention:\n"
	    "    - storage: nas-backup\n"
	    "      keep_last: 3\n"
	    "    - storage: local\n"
	    "    - storage: nas-backup\n"
	    "      keep_daily: 7\n", &errors) == NULL);
	expect_error(errors, "ret.conf", 5, 7, "workers.retention: storage "
	    "'local' keeps nothing");
	expect_error(errors, "ret.conf", 6, 7, "workers.retention: storage "
	    "'nas-backup' is given twice");
	free(errors);
	errors = NULL;
	T_OK(load_text("ret1.conf",
	    "workers:\n"
	    "  retention:\n"
	    "    - {storage: pbs, keep_weekly: -1}\n", &errors) == NULL);
	expect_error(errors, "ret1.conf", 3, 35, "keep_weekly: expected an "
	    "integer from 0 to 1000000");
	free(errors);
	errors = NULL;

	c = load_text("ret2.conf",
	    "workers:\n"
	    "  retention:\n"
	    "    - {storage: nas-backup, keep_last: 3, keep_monthly: 6}\n",
	    &errors);
	T_OK(c != NULL);
	if (c != NULL) {
		T_EQ_INT(c->workers.nretention, 1);
		T_EQ_STR(c->workers.retention[0].storage, "nas-backup");
		T_EQ_INT(c->workers.retention[0].keep_last, 3);
		T_EQ_INT(c->workers.retention[0].keep_monthly, 6);
		T_EQ_INT(c->workers.retention[0].keep_daily, 0);
	}
	conf_free(c);
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

/* A telegram token_file that must be refused with `what`, quickly. */
static void
expect_secret_refused(const char *token_path, const char *what)
{
	char	*errors = NULL, *text;
	int64_t	 t0 = now_ms();

	text = xasprintf("chat:\n  telegram:\n    token_file: %s\n",
	    token_path);
	T_OK(load_text("secret.conf", text, &errors) == NULL);
	T_OK(now_ms() - t0 < 5000);
	expect_error(errors, "secret.conf", 3, 17, what);
	T_NOT_CONTAINS(errors, "ABC-secret-token");
	free(errors);
	free(text);
}

/* Secret files are checked as strictly as OpenSSH checks keys, or more. */
static void
test_secret_file_rules(void)
{
	char	*link = t_path("link.token"), *fifo = t_path("fifo.token");
	char	*dir = t_path("shared"), *real = t_path("real.token");
	char	*own = t_path("theirs.token"), *in_shared;

	/* A FIFO must never be waited on: a hang ends the test, failed. */
	alarm(60);
	t_write("real.token", "123456:ABC-secret-token\n", 0600);
	/* A symbolic link, even to a good file. */
	T_EQ_INT(symlink(real, link), 0);
	expect_secret_refused(link, "is a symbolic link");
	/* A FIFO: looked at, never waited on. */
	T_EQ_INT(mkfifo(fifo, 0600), 0);
	expect_secret_refused(fifo, "is not a regular file");
	/* Someone else's file (giving a file away takes root). */
	t_write("theirs.token", "123456:ABC-secret-token\n", 0600);
	if (geteuid() == 0) {
		T_EQ_INT(chown(own, 4242, 4242), 0);
		expect_secret_refused(own, "belongs to uid 4242");
	}
	/* A folder that others may write to, and one that is theirs. */
	T_EQ_INT(mkdir(dir, 0770), 0);
	T_EQ_INT(chmod(dir, 0770), 0);
	in_shared = xasprintf("%s/t.token", dir);
	t_write(in_shared, "123456:ABC-secret-token\n", 0600);
	expect_secret_refused(in_shared, "which group or others may write "
	    "to (mode 0770)");
	T_EQ_INT(chmod(dir, 0757), 0);
	expect_secret_refused(in_shared, "which group or others may write "
	    "to (mode 0757)");
	T_EQ_INT(chmod(dir, 0700), 0);
	if (geteuid() == 0) {
		T_EQ_INT(chown(dir, 4242, 4242), 0);
		expect_secret_refused(in_shared, "which belongs to uid 4242");
		T_EQ_INT(chown(dir, 0, 0), 0);
	}
	/* The same file in a private folder is fine. */
	{
		char		*errors = NULL, *text;
		struct conf	*c;

		text = xasprintf("chat:\n  telegram:\n    token_file: %s\n",
		    in_shared);
		c = load_text("ok.conf", text, &errors);
		T_OK(c != NULL);
		if (c != NULL)
			T_EQ_STR(c->chat.telegram.token,
			    "123456:ABC-secret-token");
		conf_free(c);
		free(errors);
		free(text);
	}
	alarm(0);
	free(in_shared);
	free(link);
	free(fifo);
	free(dir);
	free(real);
	free(own);
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

/*
 * What LoadCredential= makes: a file 0400 owned by root that the service
 * user may read through an ACL entry, which stat() shows as mode 0440.
 */
static void
test_credentials_directory(void)
{
	char		*errors = NULL, *dir = t_path("creds");
	struct conf	*c;

	T_EQ_INT(mkdir(dir, 0500 | 0200), 0);
	t_write("creds/pvebot.telegram.token", "123456:CRED-secret-token\n",
	    0440);
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	c = load_text("cred.conf",
	    "chat:\n"
	    "  telegram:\n"
	    "    token_file: ${CREDENTIALS_DIRECTORY}/pvebot.telegram.token\n",
	    &errors);
	T_OK(c != NULL);
	if (c != NULL)
		T_EQ_STR(c->chat.telegram.token, "123456:CRED-secret-token");
	conf_free(c);
	free(errors);
	errors = NULL;

	/* The same file named directly gets the strict check. */
	T_OK(load_text("direct.conf",
	    "chat:\n"
	    "  telegram:\n"
	    "    token_file: creds/pvebot.telegram.token\n", &errors) == NULL);
	expect_error(errors, "direct.conf", 3, 17,
	    "is readable by group or others (mode 0440)");
	free(errors);
	errors = NULL;

	/* Readable by others is never what systemd made. */
	t_write("creds/open.token", "123456:OPEN-secret-token\n", 0444);
	T_OK(load_text("open.conf",
	    "chat:\n"
	    "  telegram:\n"
	    "    token_file: $CREDENTIALS_DIRECTORY/open.token\n",
	    &errors) == NULL);
	expect_error(errors, "open.conf", 3, 17, "is not a private file");
	T_NOT_CONTAINS(errors, "OPEN-secret-token");
	free(errors);
	errors = NULL;

	/* A name, not a way out of the folder. */
	T_OK(load_text("escape.conf",
	    "chat:\n"
	    "  telegram:\n"
	    "    token_file: ${CREDENTIALS_DIRECTORY}/../tg.token\n",
	    &errors) == NULL);
	expect_error(errors, "escape.conf", 3, 17, "is not a credential name");
	free(errors);
	errors = NULL;

	/* Not under systemd: say what to do. */
	unsetenv("CREDENTIALS_DIRECTORY");
	T_OK(load_text("nodir.conf",
	    "chat:\n"
	    "  telegram:\n"
	    "    token_file: ${CREDENTIALS_DIRECTORY}/pvebot.telegram.token\n",
	    &errors) == NULL);
	expect_error(errors, "nodir.conf", 3, 17,
	    "${CREDENTIALS_DIRECTORY} is not set");
	T_CONTAINS(errors, "LoadCredential=pvebot.telegram.token");
	free(errors);
	free(dir);
}

static void
test_local_commands(void)
{
	char		*errors = NULL, *want;
	struct conf	*c;

	c = load_text("local.conf", "local_commands: mine\n", &errors);
	T_OK(c != NULL);
	if (c != NULL) {
		want = xasprintf("%s/mine", t_tmpdir());
		T_EQ_STR(c->local_commands_dir, want);
		free(want);
	}
	conf_free(c);
	c = load_text("none.conf", "log_level: warn\n", &errors);
	T_OK(c != NULL && c->local_commands_dir == NULL);
	conf_free(c);
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

/* The http and heartbeat sections: defaults, tokens, the key's rules. */
static void
test_http_section(void)
{
	char		*errors = NULL;
	struct conf	*c;

	/* Absent: off. */
	c = load_text("nohttp.conf", "workers: {count: 2}\n", &errors);
	T_OK(c != NULL && !c->http.enabled && !c->heartbeat.enabled);
	conf_free(c);
	t_write("hook.token", "pve-hook-secret-value\n", 0600);
	t_write("beat.url", "https://hc-ping.com/6f0c1d7e-secret\n", 0600);
	t_write("tls.key", "-----BEGIN PRIVATE KEY-----\nxyz\n"
	    "-----END PRIVATE KEY-----\n", 0600);
	c = load_text("http.conf",
	    "http:\n"
	    "  listen: \"[::1]:9443\"\n"
	    "  tls:\n"
	    "    cert_file: tls.crt\n"
	    "    key_file: tls.key\n"
	    "  proxmox:\n"
	    "    token_file: hook.token\n"
	    "    max_body: 4096\n"
	    "  metrics:\n"
	    "    token_file: hook.token\n"
	    "heartbeat:\n"
	    "  url_file: beat.url\n"
	    "  method: POST\n"
	    "  interval: 2m\n", &errors);
	T_OK(c != NULL);
	if (c == NULL) {
		printf("%s", errors);
		free(errors);
		return;
	}
	T_OK(c->http.enabled);
	T_EQ_STR(c->http.listen, "[::1]:9443");
	T_EQ_INT(c->http.timeout, 10);
	T_OK(c->http.tls.enabled);
	T_CONTAINS(c->http.tls.cert_file, "/tls.crt");
	T_CONTAINS(c->http.tls.key, "BEGIN PRIVATE KEY");
	T_OK(c->http.proxmox.enabled);
	T_EQ_STR(c->http.proxmox.token, "pve-hook-secret-value");
	T_EQ_INT(c->http.proxmox.max_body, 4096);
	/* Not given: off; the pages are on, without a token by default. */
	T_OK(!c->http.alertmanager.enabled);
	T_OK(c->http.metrics.enabled && c->http.healthz.enabled);
	T_EQ_STR(c->http.metrics.token, "pve-hook-secret-value");
	T_OK(c->http.healthz.token == NULL);
	T_OK(c->heartbeat.enabled);
	T_EQ_STR(c->heartbeat.method, "POST");
	T_EQ_INT(c->heartbeat.interval, 120);
	conf_free(c);

	/* A hook without its token, an address that is not one. */
	T_OK(load_text("http-bad.conf",
	    "http:\n"
	    "  listen: localhost:9180\n"
	    "  proxmox:\n"
	    "    max_body: 10\n"
	    "heartbeat:\n"
	    "  url: https://hc-ping.com/x\n", &errors) == NULL);
	expect_error(errors, "http-bad.conf", 4, 15,
	    "expected an integer from 1024");
	expect_error(errors, "http-bad.conf", 4, 5,
	    "proxmox: missing required key token_file");
	expect_error(errors, "http-bad.conf", 6, 3,
	    "secrets are never inline");
	free(errors);
	errors = NULL;
	T_OK(load_text("http-addr.conf", "http:\n  listen: localhost:9180\n",
	    &errors) == NULL);
	T_CONTAINS(errors, "http.listen: 'localhost:9180': 'localhost' is "
	    "not an IPv4");
	free(errors);
	errors = NULL;
	T_OK(load_text("http-port.conf", "http:\n  listen: "
	    "127.0.0.1:70000\n", &errors) == NULL);
	T_CONTAINS(errors, "port '70000' is too large");
	free(errors);
	errors = NULL;
	/* The TLS key is a secret file: others may not read it. */
	t_write("open.key", "-----BEGIN PRIVATE KEY-----\n", 0644);
	T_OK(load_text("http-key.conf", "http:\n  tls:\n    cert_file: "
	    "x.crt\n    key_file: open.key\n", &errors) == NULL);
	T_CONTAINS(errors, "readable by group or others");
	free(errors);
	errors = NULL;
	/* A section turned off needs none of its secrets. */
	c = load_text("http-off.conf", "http:\n  enabled: false\n"
	    "  proxmox:\n    token_file: /nonexistent/token\n", &errors);
	T_OK(c != NULL && !c->http.enabled);
	if (c == NULL)
		printf("%s", errors);
	free(errors);
	conf_free(c);
}

/* operations: values, defaults, and each mistake at its line. */
static void
test_operations_section(void)
{
	struct conf	*c;
	char		*errors = NULL;

	c = load_text("ops.conf",
	    "chat:\n"
	    "  console: {enabled: true}\n"
	    "operations:\n"
	    "  room: console:console\n"
	    "  idle_shutdown:\n"
	    "    - node: pve3\n"
	    "      grace: 45m\n"
	    "    - pve2\n"
	    "  expected_running: {tag: always-on}\n"
	    "  snapshot_retention: {max_count: 3}\n", &errors);
	T_OK(c != NULL);
	if (c == NULL) {
		printf("%s\n", errors);
		free(errors);
		return;
	}
	T_EQ_INT(c->operations.nidle, 2);
	T_EQ_STR(c->operations.idle[0].node, "pve3");
	T_EQ_INT(c->operations.idle[0].grace, 45 * 60);
	T_EQ_INT(c->operations.idle[0].flap_window, 6 * 3600);
	T_EQ_STR(c->operations.idle[1].node, "pve2");
	T_EQ_INT(c->operations.idle[1].grace, 30 * 60);
	T_EQ_INT(c->operations.expected.enabled, 1);
	T_EQ_INT(c->operations.expected.onboot, 1);
	T_EQ_STR(c->operations.expected.tag, "always-on");
	T_EQ_INT(c->operations.snapshots.enabled, 1);
	T_EQ_STR(c->operations.snapshots.prefix, "auto-");
	T_EQ_INT(c->operations.snapshots.max_count, 3);
	conf_free(c);

	/* Without the section: nothing is on. */
	c = load_text("noops.conf", "chat:\n  console: {enabled: true}\n",
	    &errors);
	T_OK(c != NULL);
	if (c != NULL) {
		T_EQ_INT(c->operations.nidle, 0);
		T_EQ_INT(c->operations.expected.enabled, 0);
		T_EQ_INT(c->operations.snapshots.enabled, 0);
		conf_free(c);
	}

	T_OK(load_text("badops.conf",
	    "chat:\n"
	    "  console: {enabled: true}\n"
	    "operations:\n"
	    "  room: telegram:-100123\n"
	    "  idle_shutdown:\n"
	    "    - node: pve3\n"
	    "      grace: 10m\n"
	    "    - node: pve3\n"
	    "    - node: \"pve 4\"\n"
	    "    - node: pve5\n"
	    "      grace: 2h\n"
	    "      flap_window: 1h\n"
	    "  expected_running: {onboot: false}\n"
	    "  snapshot_retention: {prefix: \"-x\"}\n", &errors) == NULL);
	expect_error(errors, "badops.conf", 4, 9,
	    "operations.room: the telegram connector is not enabled");
	expect_error(errors, "badops.conf", 8, 7,
	    "operations.idle_shutdown: node 'pve3' is listed twice");
	expect_error(errors, "badops.conf", 9, 7,
	    "operations.idle_shutdown: 'pve 4' is not a node name");
	expect_error(errors, "badops.conf", 10, 7,
	    "node 'pve5': flap_window is shorter than grace");
	expect_error(errors, "badops.conf", 13, 21,
	    "operations.expected_running: onboot is off and no tag");
	expect_error(errors, "badops.conf", 14, 23,
	    "operations.snapshot_retention: set max_age, max_count or both");
	expect_error(errors, "badops.conf", 14, 23,
	    "prefix '-x' must start a snapshot name");
	free(errors);

	T_OK(load_text("grace.conf",
	    "operations:\n"
	    "  room: console:console\n"
	    "  idle_shutdown:\n"
	    "    - node: pve3\n"
	    "      grace: 10s\n", &errors) == NULL);
	expect_error(errors, "grace.conf", 5, 14,
	    "grace: expected a duration from 60s");
	free(errors);

	/* Requests need a room. */
	T_OK(load_text("noroom.conf",
	    "operations:\n"
	    "  idle_shutdown: [pve3]\n", &errors) == NULL);
	expect_error(errors, "noroom.conf", 2, 18,
	    "operations.idle_shutdown: needs operations.room");
	free(errors);
}

/*
 * Issue 22: a PostgreSQL database. The URL is kept as given (not made a
 * path next to the file), its password comes from a secret file, a URL
 * holding one is refused without echoing it, and the audit key file must
 * be named (there is no database file to put it beside).
 */
static void
test_postgresql_database(void)
{
	struct conf	*c;
	char		*errors = NULL, *pw, *text;

	pw = xstrdup(t_write("db.password", "s3cret-db-pw\n", 0600));
	text = xasprintf("database: postgresql://pvebot@127.0.0.1:5432/pvebot\n"
	    "database_password_file: %s\n"
	    "audit:\n  key_file: %s/audit.key\n", pw, t_tmpdir());
	c = load_text("pg.conf", text, &errors);
	T_OK(c != NULL);
	if (c != NULL) {
		T_EQ_STR(c->database, "postgresql://pvebot@127.0.0.1:5432/pvebot");
		T_EQ_STR(c->database_password, "s3cret-db-pw");
		conf_free(c);
	}
	free(text);
	free(errors);
	errors = NULL;

	c = load_text("pg2.conf", "database: postgresql://pvebot:hunter2@"
	    "127.0.0.1/pvebot\n", &errors);
	T_OK(c == NULL);
	T_CONTAINS(errors, "put it in database_password_file instead");
	T_CONTAINS(errors, "audit.key_file is required when the database is "
	    "PostgreSQL");
	T_NOT_CONTAINS(errors, "hunter2");
	free(errors);
	free(pw);
}

int
main(void)
{
	T_RUN(test_good_file);
	T_RUN(test_example_file_passes);
	T_RUN(test_syntax_error);
	T_RUN(test_unknown_key);
	T_RUN(test_retention);
	T_RUN(test_wrong_type);
	T_RUN(test_missing_required);
	T_RUN(test_world_readable_secret);
	T_RUN(test_secret_file_rules);
	T_RUN(test_inline_secret_refused);
	T_RUN(test_all_errors_reported);
	T_RUN(test_credentials_directory);
	T_RUN(test_local_commands);
	T_RUN(test_time_zones);
	T_RUN(test_http_section);
	T_RUN(test_operations_section);
	T_RUN(test_postgresql_database);
	return t_summary();
}
