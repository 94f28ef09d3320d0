/*
 * conf.c - bot.conf: the key tables and the one walker that checks a YAML
 * document against them.
 *
 * Every key is declared once below (name, type, default, range, help).
 * The walker reports each problem as "file:line:column: message" and
 * carries on, so one run of `pvebot check` shows every mistake. Unknown
 * keys are errors: a typo must not silently disable a setting. Secrets are
 * never inline: a secret key `token` is given as `token_file: PATH` or
 * `token_env: NAME`, and the value is registered with the logger so it is
 * scrubbed from every log line. A secret file is read the way OpenSSH
 * reads a key, only stricter: a regular file (never a link, never waited
 * on like a FIFO), owned by pvebot's user or root, readable by nobody
 * else, in folders nobody else may write to. A secret file may be named as
 * `${CREDENTIALS_DIRECTORY}/NAME`: the copy systemd's LoadCredential=NAME
 * put in the unit's credentials folder for this run (see
 * read_credential below for how its mode is checked).
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <yaml.h>

#include "conf.h"
#include "log.h"
#include "util.h"

#define CONF_MAX_SIZE	(1 << 20)
#define SECRET_MAX_SIZE	4096

enum ck_type {
	CK_STR,		/* char * */
	CK_PATH,	/* char *, relative to the config file's folder */
	CK_URL,		/* char *, http:// or https:// */
	CK_INT,		/* int, min..max */
	CK_I64,		/* int64_t, min..max */
	CK_DUR,		/* int64_t seconds: 90s, 15m, 2h, 7d */
	CK_BOOL,	/* int */
	CK_NUM,		/* double; has_off marks presence */
	CK_SECRET,	/* char *, from NAME_file or NAME_env */
	CK_STRLIST,	/* char **, count at count_off */
	CK_SECTION,	/* nested mapping; flag_off set when present */
	CK_LIST,	/* array of structs, count at count_off */
	CK_ENUM,	/* char *, one of enums */
	CK_TIME,	/* char *, "HH:MM" */
	CK_ZONE,	/* char *, a known time zone */
	CK_FPR,		/* char *, AA:BB:... SHA-256 fingerprint */
	CK_TOKENID,	/* char *, user@realm!tokenid */
};

struct ckey {
	const char		*name;
	enum ck_type		 type;
	size_t			 off;
	const char		*def;
	int			 required;
	long long		 min, max;
	const struct ckey	*sub;		/* SECTION, LIST */
	size_t			 elem_size;	/* LIST */
	size_t			 count_off;	/* LIST, STRLIST */
	size_t			 flag_off;	/* SECTION: set to 1 if given */
	size_t			 has_off;	/* NUM: set to 1 if given */
	const char *const	*enums;
	const char		*shorthand;	/* LIST: a scalar fills this */
	const char		*help;
};

#define NONE ((size_t)-1)
#define KEND { NULL, CK_STR, 0, NULL, 0, 0, 0, NULL, 0, NONE, NONE, NONE, \
	NULL, NULL, NULL }

#define K(n, t, s, f, d, req, h) \
	{ n, t, offsetof(s, f), d, req, 0, 0, NULL, 0, NONE, NONE, NONE, \
	NULL, NULL, h }
#define KR(n, t, s, f, d, lo, hi, h) \
	{ n, t, offsetof(s, f), d, 0, lo, hi, NULL, 0, NONE, NONE, NONE, \
	NULL, NULL, h }
#define KNUM(n, s, f, hasf, d, h) \
	{ n, CK_NUM, offsetof(s, f), d, 0, 0, 0, NULL, 0, NONE, NONE, \
	offsetof(s, hasf), NULL, NULL, h }
#define KENUM(n, s, f, d, e, h) \
	{ n, CK_ENUM, offsetof(s, f), d, 0, 0, 0, NULL, 0, NONE, NONE, NONE, \
	e, NULL, h }
#define KLIST(n, s, f, cnt, sub, et, sh, h) \
	{ n, CK_LIST, offsetof(s, f), NULL, 0, 0, 0, sub, sizeof(et), \
	offsetof(s, cnt), NONE, NONE, NULL, sh, h }
#define KSTRS(n, s, f, cnt, h) \
	{ n, CK_STRLIST, offsetof(s, f), NULL, 0, 0, 0, NULL, 0, \
	offsetof(s, cnt), NONE, NONE, NULL, NULL, h }
#define KSEC(n, s, f, sub, flag, h) \
	{ n, CK_SECTION, offsetof(s, f), NULL, 0, 0, 0, sub, 0, NONE, flag, \
	NONE, NULL, NULL, h }

static const char *const levels[] = { "debug", "info", "warn", "error", NULL };
static const char *const severities[] = { "info", "warning", "critical",
	NULL };
static const char *const ops[] = { ">", "<", ">=", "<=", NULL };

static const struct ckey room_keys[] = {
	K("id", CK_STR, struct conf_room, id, NULL, 1,
	    "chat, room or channel id"),
	K("alerts", CK_BOOL, struct conf_room, alerts, "false", 0,
	    "alerts and the digest are posted here"),
	K("commands", CK_BOOL, struct conf_room, commands, "true", 0,
	    "commands are served here"),
	K("approvals", CK_BOOL, struct conf_room, approvals, "false", 0,
	    "approval requests made in private chats are posted here"),
	K("site", CK_STR, struct conf_room, site, NULL, 0,
	    "commands from here act on this site's cluster: instances of "
	    "that site run them (several instances on PostgreSQL; default: "
	    "the leader's own site)"),
	KEND
};

static const struct ckey console_keys[] = {
	K("enabled", CK_BOOL, struct conf_console, enabled, "true", 0,
	    "serve the console (standard input)"),
	K("user", CK_STR, struct conf_console, user, "bob", 0,
	    "the pretend user at start"),
	K("alerts", CK_BOOL, struct conf_console, alerts, "true", 0,
	    "alerts are printed on the console"),
	KEND
};

static const struct ckey telegram_keys[] = {
	K("enabled", CK_BOOL, struct conf_telegram, enabled, "true", 0,
	    "serve Telegram"),
	K("api_url", CK_URL, struct conf_telegram, api_url,
	    "https://api.telegram.org", 0, "Bot API base URL"),
	K("token", CK_SECRET, struct conf_telegram, token, NULL, 1,
	    "bot token from BotFather"),
	KLIST("chats", struct conf_telegram, chats, nchats, room_keys,
	    struct conf_room, "id", "chat ids served"),
	KSTRS("users", struct conf_telegram, users, nusers,
	    "user ids served in private chats"),
	KR("poll_timeout", CK_DUR, struct conf_telegram, poll_timeout, "30s",
	    1, 120, "getUpdates long-poll timeout"),
	KEND
};

static const struct ckey matrix_keys[] = {
	K("enabled", CK_BOOL, struct conf_matrix, enabled, "true", 0,
	    "serve Matrix"),
	K("homeserver", CK_URL, struct conf_matrix, homeserver, NULL, 1,
	    "homeserver base URL"),
	K("user_id", CK_STR, struct conf_matrix, user_id, NULL, 1,
	    "the bot's user id, @pvebot:example.org"),
	K("token", CK_SECRET, struct conf_matrix, token, NULL, 1,
	    "access token"),
	KLIST("rooms", struct conf_matrix, rooms, nrooms, room_keys,
	    struct conf_room, "id", "room ids or aliases served"),
	KR("sync_timeout", CK_DUR, struct conf_matrix, sync_timeout, "30s",
	    1, 120, "/sync long-poll timeout"),
	KEND
};

static const struct ckey discord_keys[] = {
	K("enabled", CK_BOOL, struct conf_discord, enabled, "true", 0,
	    "serve Discord"),
	K("api_url", CK_URL, struct conf_discord, api_url,
	    "https://discord.com/api/v10", 0, "REST base URL"),
	K("token", CK_SECRET, struct conf_discord, token, NULL, 1,
	    "bot token"),
	K("application_id", CK_STR, struct conf_discord, application_id,
	    NULL, 1, "application id, for slash commands"),
	KSTRS("guilds", struct conf_discord, guilds, nguilds,
	    "guild ids where slash commands are registered"),
	KLIST("channels", struct conf_discord, channels, nchannels, room_keys,
	    struct conf_room, "id", "channel ids served"),
	KSTRS("users", struct conf_discord, users, nusers,
	    "user ids served in direct messages"),
	KEND
};

static const struct ckey rate_limit_keys[] = {
	KR("per_user", CK_INT, struct conf_rate_limit, per_user, "10", 1,
	    100000, "commands one person may give per window"),
	KR("user_burst", CK_INT, struct conf_rate_limit, user_burst, "5", 1,
	    100000, "commands one person may give at once"),
	KR("per_room", CK_INT, struct conf_rate_limit, per_room, "30", 1,
	    100000, "commands one room may give per window"),
	KR("room_burst", CK_INT, struct conf_rate_limit, room_burst, "15", 1,
	    100000, "commands one room may give at once"),
	KR("window", CK_DUR, struct conf_rate_limit, window, "30s", 1, 86400,
	    "the window of the limits above"),
	KEND
};

static const struct ckey chat_keys[] = {
	KR("max_command_age", CK_DUR, struct conf_chat, max_command_age,
	    "5m", 0, 86400, "older commands are not run"),
	KSEC("rate_limit", struct conf_chat, rate_limit, rate_limit_keys,
	    NONE, "how many commands a person and a room may give"),
	K("bot_name", CK_STR, struct conf_chat, bot_name, "pvebot", 0,
	    "the name in /cmd@bot_name"),
	KSEC("console", struct conf_chat, console, console_keys,
	    offsetof(struct conf_chat, console.enabled), "console chat"),
	KSEC("telegram", struct conf_chat, telegram, telegram_keys,
	    offsetof(struct conf_chat, telegram.enabled), "Telegram"),
	KSEC("matrix", struct conf_chat, matrix, matrix_keys,
	    offsetof(struct conf_chat, matrix.enabled), "Matrix"),
	KSEC("discord", struct conf_chat, discord, discord_keys,
	    offsetof(struct conf_chat, discord.enabled), "Discord"),
	KEND
};

static const struct ckey proxmox_keys[] = {
	K("enabled", CK_BOOL, struct conf_proxmox, enabled, "true", 0,
	    "use the Proxmox VE API"),
	KSTRS("urls", struct conf_proxmox, urls, nurls,
	    "API base URLs of one cluster, tried in order"),
	K("token_id", CK_TOKENID, struct conf_proxmox, token_id, NULL, 0,
	    "API token id, user@realm!name"),
	K("secret", CK_SECRET, struct conf_proxmox, secret, NULL, 0,
	    "API token secret"),
	K("ca_file", CK_PATH, struct conf_proxmox, ca_file, NULL, 0,
	    "CA bundle to verify the API certificate"),
	K("fingerprint", CK_FPR, struct conf_proxmox, fingerprint, NULL, 0,
	    "SHA-256 certificate fingerprint pin, AA:BB:..."),
	KR("connect_timeout", CK_DUR, struct conf_proxmox, connect_timeout,
	    "5s", 1, 300, "TCP/TLS connect timeout"),
	KR("request_timeout", CK_DUR, struct conf_proxmox, request_timeout,
	    "30s", 1, 3600, "timeout of one API request"),
	KR("task_poll_ms", CK_I64, struct conf_proxmox, task_poll, "1000",
	    50, 60000, "milliseconds between task status polls"),
	KR("index_max_age", CK_DUR, struct conf_proxmox, index_max_age,
	    "90s", 1, 86400, "guest lists older than this are looked up "
	    "again before a command is decided"),
	KEND
};

static const struct ckey ssh_host_keys[] = {
	K("name", CK_STR, struct conf_ssh_host, name, NULL, 1,
	    "the name commands use"),
	K("address", CK_STR, struct conf_ssh_host, address, NULL, 1,
	    "host name or address"),
	KR("port", CK_INT, struct conf_ssh_host, port, "22", 1, 65535,
	    "SSH port"),
	K("user", CK_STR, struct conf_ssh_host, user, "root", 0,
	    "remote user"),
	K("key_file", CK_PATH, struct conf_ssh_host, key_file, NULL, 1,
	    "private key (mode 0600)"),
	K("known_hosts", CK_PATH, struct conf_ssh_host, known_hosts, NULL, 1,
	    "known_hosts file holding the host key"),
	K("node", CK_STR, struct conf_ssh_host, node, NULL, 0,
	    "Proxmox node name served by this host"),
	K("sudo", CK_BOOL, struct conf_ssh_host, sudo, "false", 0,
	    "the user is not root: commands that need root run with sudo -n"),
	KEND
};

static const struct ckey ssh_keys[] = {
	K("ssh_path", CK_PATH, struct conf_ssh, ssh_path, "/usr/bin/ssh", 0,
	    "the OpenSSH client"),
	KR("connect_timeout", CK_DUR, struct conf_ssh, connect_timeout, "10s",
	    1, 300, "ConnectTimeout"),
	KR("timeout", CK_DUR, struct conf_ssh, timeout, "2m", 1, 86400,
	    "default command timeout"),
	KR("output_cap", CK_I64, struct conf_ssh, output_cap, "262144", 1024,
	    64 << 20, "bytes of output kept per command"),
	KLIST("hosts", struct conf_ssh, hosts, nhosts, ssh_host_keys,
	    struct conf_ssh_host, NULL, "hosts pvebot may reach"),
	KEND
};

static const struct ckey retention_keys[] = {
	K("storage", CK_STR, struct conf_retention, storage, NULL, 1,
	    "the Proxmox storage id"),
	KR("keep_last", CK_INT, struct conf_retention, keep_last, "0", 0,
	    1000000, "keep the last N backups"),
	KR("keep_hourly", CK_INT, struct conf_retention, keep_hourly, "0", 0,
	    1000000, "keep the newest backup of each of the last N hours"),
	KR("keep_daily", CK_INT, struct conf_retention, keep_daily, "0", 0,
	    1000000, "... of each of the last N days"),
	KR("keep_weekly", CK_INT, struct conf_retention, keep_weekly, "0", 0,
	    1000000, "... of each of the last N weeks"),
	KR("keep_monthly", CK_INT, struct conf_retention, keep_monthly, "0",
	    0, 1000000, "... of each of the last N months"),
	KR("keep_yearly", CK_INT, struct conf_retention, keep_yearly, "0", 0,
	    1000000, "... of each of the last N years"),
	KEND
};

static const struct ckey worker_keys[] = {
	KR("count", CK_INT, struct conf_workers, count, "2", 1, 64,
	    "worker threads"),
	KR("heavy_per_node", CK_INT, struct conf_workers, heavy_per_node,
	    "1", 1, 16, "concurrent backup/migrate/clone per node"),
	KR("edit_interval", CK_DUR, struct conf_workers, edit_interval, "3s",
	    0, 600, "least time between progress edits of one message"),
	KR("backup_margin_gib", CK_INT, struct conf_workers,
	    backup_margin_gib, "50", 0, 1000000, "a backup to a storage with "
	    "less free space than the guest's disk plus this many GiB is "
	    "refused"),
	KLIST("retention", struct conf_workers, retention, nretention,
	    retention_keys, struct conf_retention, NULL,
	    "default retention of `prune` per storage"),
	KEND
};

static const struct ckey override_keys[] = {
	K("target", CK_STR, struct conf_override, target, NULL, 1,
	    "101, node:pve1, storage:local"),
	KNUM("threshold", struct conf_override, threshold, has_threshold,
	    NULL, "threshold for this target"),
	KNUM("clear", struct conf_override, clear, has_clear, NULL,
	    "clear level for this target"),
	K("exclude", CK_BOOL, struct conf_override, exclude, "false", 0,
	    "never alert on this target"),
	KEND
};

static const struct ckey rule_keys[] = {
	K("name", CK_STR, struct conf_rule, name, NULL, 1, "rule name"),
	K("metric", CK_STR, struct conf_rule, metric, NULL, 1,
	    "node.cpu, guest.memory, storage.usage, ..."),
	KSTRS("select", struct conf_rule, select, nselect,
	    "targets: 101, 100-199, tag:db, name:web*, node:pve1"),
	KENUM("op", struct conf_rule, op, ">", ops, "comparison"),
	KNUM("threshold", struct conf_rule, threshold, has_threshold, NULL,
	    "fires beyond this value"),
	KNUM("clear", struct conf_rule, clear, has_clear, NULL,
	    "resolves only back past this value (hysteresis)"),
	KR("for", CK_DUR, struct conf_rule, for_s, "0s", 0, 86400 * 7,
	    "how long the condition must hold"),
	KR("repeat", CK_DUR, struct conf_rule, repeat, "0s", 0, 86400 * 30,
	    "repeat a firing alert this often (0 = never)"),
	KENUM("severity", struct conf_rule, severity, "warning", severities,
	    "info, warning or critical"),
	KLIST("overrides", struct conf_rule, overrides, noverrides,
	    override_keys, struct conf_override, NULL,
	    "per-target thresholds or exclusions"),
	KEND
};

static const struct ckey window_keys[] = {
	K("days", CK_STR, struct conf_window, days, "*", 0,
	    "mon-fri, sat,sun or *"),
	K("start", CK_TIME, struct conf_window, start, NULL, 1, "HH:MM"),
	K("end", CK_TIME, struct conf_window, end, NULL, 1, "HH:MM"),
	KENUM("severity", struct conf_window, severity, "warning", severities,
	    "quiet hours hold back this severity and below"),
	K("room", CK_STR, struct conf_window, room, NULL, 0,
	    "connector:room it applies to (default all)"),
	KEND
};

static const struct ckey backups_keys[] = {
	KR("interval", CK_DUR, struct conf_backups, interval, "1h", 0,
	    86400 * 7, "how often backup coverage and vzdump tasks are read "
	    "(0 = off)"),
	KSTRS("ignore_tags", struct conf_backups, ignore_tags, nignore_tags,
	    "guests with one of these tags need no backup"),
	KR("failed_window", CK_DUR, struct conf_backups, failed_window, "7d",
	    3600, 86400 * 60, "how far back failed vzdump tasks are read"),
	KEND
};

static const struct ckey disks_keys[] = {
	KR("interval", CK_DUR, struct conf_disks, interval, "1h", 0,
	    86400 * 7, "how often SMART data is read (0 = off)"),
	KR("trend_window", CK_DUR, struct conf_disks, trend_window, "7d",
	    3600, 86400 * 8, "bad sectors gained within this window alert"),
	KEND
};

static const struct ckey zfs_keys[] = {
	KR("interval", CK_DUR, struct conf_poll, interval, "5m", 0,
	    86400 * 7, "how often ZFS pools are read (0 = off)"),
	KEND
};

static const struct ckey ceph_keys[] = {
	KR("interval", CK_DUR, struct conf_poll, interval, "1m", 0,
	    86400 * 7, "how often Ceph health is read (0 = off)"),
	KEND
};

static const struct ckey replication_keys[] = {
	KR("interval", CK_DUR, struct conf_poll, interval, "5m", 0,
	    86400 * 7, "how often replication jobs are read (0 = off)"),
	KEND
};

static const struct ckey certificates_keys[] = {
	KR("interval", CK_DUR, struct conf_poll, interval, "1h", 0,
	    86400 * 7, "how often node certificates are read (0 = off)"),
	KEND
};

static const struct ckey updates_keys[] = {
	KR("interval", CK_DUR, struct conf_poll, interval, "1h", 0,
	    86400 * 7, "how often pending updates and kernels are read "
	    "(0 = off)"),
	KEND
};

static const struct ckey cluster_keys[] = {
	KR("forget_after", CK_DUR, struct conf_cluster, forget_after, "7d",
	    3600, 86400 * 365, "a node gone this long is no longer missed"),
	KEND
};

static const struct ckey sensor_limit_keys[] = {
	K("sensor", CK_STR, struct conf_sensor_limit, sensor, NULL, 1,
	    "chip/label glob: nct6798-*/in0"),
	KNUM("min", struct conf_sensor_limit, min, has_min, NULL,
	    "lowest good value (V or A)"),
	KNUM("max", struct conf_sensor_limit, max, has_max, NULL,
	    "highest good value (V or A)"),
	KEND
};

static const struct ckey monitor_keys[] = {
	K("enabled", CK_BOOL, struct conf_monitor, enabled, "true", 0,
	    "watch the cluster"),
	KR("interval", CK_DUR, struct conf_monitor, interval, "30s", 1, 3600,
	    "seconds between polls"),
	K("timezone", CK_ZONE, struct conf_monitor, timezone, "UTC", 0,
	    "time zone of windows and quiet hours"),
	KLIST("rules", struct conf_monitor, rules, nrules, rule_keys,
	    struct conf_rule, NULL, "threshold rules"),
	KR("max_silence", CK_DUR, struct conf_monitor, max_silence, "7d",
	    60, 365 * 86400, "longest silence a chat command may set"),
	KR("no_backup_days", CK_INT, struct conf_monitor, no_backup_days,
	    "7", 0, 3650, "alert on guests without a backup this long"),
	KR("flap_count", CK_INT, struct conf_monitor, flap_count, "4", 2, 100,
	    "state flips in flap_window that mark an alert flapping"),
	KR("flap_window", CK_DUR, struct conf_monitor, flap_window, "30m",
	    60, 86400, "window for flap detection"),
	K("local_sensors", CK_BOOL, struct conf_monitor, local_sensors,
	    "true", 0, "read lm-sensors on this machine"),
	KSTRS("sensor_hosts", struct conf_monitor, sensor_hosts,
	    nsensor_hosts, "ssh hosts read with sensors -j"),
	KSTRS("gpu_hosts", struct conf_monitor, gpu_hosts,
	    ngpu_hosts, "ssh hosts whose GPUs nvidia-smi reads"),
	KSTRS("sensor_ignore", struct conf_monitor, sensor_ignore,
	    nsensor_ignore, "chip/label globs to ignore"),
	{ "temp_max_sane", CK_NUM, offsetof(struct conf_monitor,
	    temp_max_sane), "150", 0, 0, 0, NULL, 0, NONE, NONE, NONE, NULL,
	    NULL, "temperatures above this are bogus readings" },
	KLIST("backup_windows", struct conf_monitor, backup_windows,
	    nbackup_windows, window_keys, struct conf_window, NULL,
	    "windows when backups mute their alerts"),
	KLIST("quiet_hours", struct conf_monitor, quiet_hours, nquiet_hours,
	    window_keys, struct conf_window, NULL,
	    "hours when non-critical alerts wait"),
	KR("stale_after", CK_INT, struct conf_monitor, stale_after, "3", 1,
	    1000, "cycles without a reading before a firing alert is stale"),
	KSEC("backups", struct conf_monitor, backups, backups_keys, NONE,
	    "backup coverage and failed backups"),
	KSEC("disks", struct conf_monitor, disks, disks_keys, NONE,
	    "SMART health, wear and bad sectors"),
	KSEC("zfs", struct conf_monitor, zfs, zfs_keys, NONE,
	    "ZFS pool health"),
	KSEC("ceph", struct conf_monitor, ceph, ceph_keys, NONE,
	    "Ceph health"),
	KSEC("replication", struct conf_monitor, replication,
	    replication_keys, NONE, "replication jobs"),
	KSEC("certificates", struct conf_monitor, certificates,
	    certificates_keys, NONE, "node certificates"),
	KSEC("updates", struct conf_monitor, updates, updates_keys, NONE,
	    "pending updates and reboots"),
	KSEC("cluster", struct conf_monitor, cluster, cluster_keys, NONE,
	    "cluster membership"),
	KLIST("sensor_limits", struct conf_monitor, sensor_limits,
	    nsensor_limits, sensor_limit_keys, struct conf_sensor_limit,
	    NULL, "voltage and current limits per input"),
	KEND
};

static const struct ckey digest_keys[] = {
	K("enabled", CK_BOOL, struct conf_digest, enabled, "true", 0,
	    "send a daily digest"),
	K("time", CK_TIME, struct conf_digest, time, "08:00", 0,
	    "local time to send it"),
	K("timezone", CK_ZONE, struct conf_digest, timezone, "UTC", 0,
	    "time zone of `time`"),
	KEND
};

static const struct ckey audit_keys[] = {
	K("key_file", CK_PATH, struct conf_audit, key_file, NULL, 0,
	    "HMAC key of the audit log; made at the first start (default: "
	    "the database path + .key)"),
	KEND
};

static const struct ckey instance_keys[] = {
	K("name", CK_STR, struct conf_instance, name, NULL, 0,
	    "this instance's name among those sharing a PostgreSQL database "
	    "(default: the host name)"),
	K("site", CK_STR, struct conf_instance, site, "default", 0,
	    "the site this instance serves"),
	K("home_site", CK_STR, struct conf_instance, home_site, NULL, 0,
	    "the site private chats and rooms without a site act on, "
	    "whichever instance leads (default: this instance's site); "
	    "give every instance the same"),
	KEND
};

static const char *const http_methods[] = { "GET", "POST", NULL };

static const struct ckey http_tls_keys[] = {
	K("enabled", CK_BOOL, struct conf_http_tls, enabled, "true", 0,
	    "serve HTTPS"),
	K("cert_file", CK_PATH, struct conf_http_tls, cert_file, NULL, 1,
	    "PEM certificate, with its chain"),
	K("key", CK_SECRET, struct conf_http_tls, key, NULL, 1,
	    "PEM private key of the certificate"),
	KEND
};

static const struct ckey http_hook_keys[] = {
	K("enabled", CK_BOOL, struct conf_http_route, enabled, "true", 0,
	    "serve this webhook"),
	K("token", CK_SECRET, struct conf_http_route, token, NULL, 1,
	    "bearer token the sender presents"),
	KR("max_body", CK_I64, struct conf_http_route, max_body, "1048576",
	    1024, 16 << 20, "largest request body in bytes (413 past it)"),
	KEND
};

static const struct ckey http_page_keys[] = {
	K("enabled", CK_BOOL, struct conf_http_route, enabled, "true", 0,
	    "serve this page"),
	K("token", CK_SECRET, struct conf_http_route, token, NULL, 0,
	    "bearer token a client must present (default: none)"),
	KEND
};

static const struct ckey http_am_keys[] = {
	K("enabled", CK_BOOL, struct conf_http_alertmanager, enabled, "true",
	    0, "serve the Alertmanager webhook"),
	K("token", CK_SECRET, struct conf_http_alertmanager, token, NULL, 1,
	    "bearer token Alertmanager presents"),
	KR("max_body", CK_I64, struct conf_http_alertmanager, max_body,
	    "1048576", 1024, 16 << 20,
	    "largest request body in bytes (413 past it)"),
	K("url", CK_URL, struct conf_http_alertmanager, url, NULL, 0,
	    "Alertmanager's base URL, where silences are created"),
	K("username", CK_STR, struct conf_http_alertmanager, username, NULL,
	    0, "basic auth user towards Alertmanager's API"),
	K("password", CK_SECRET, struct conf_http_alertmanager, password,
	    NULL, 0, "basic auth password towards Alertmanager's API"),
	K("api_token", CK_SECRET, struct conf_http_alertmanager, api_token,
	    NULL, 0, "bearer token towards Alertmanager's API"),
	K("ca_file", CK_PATH, struct conf_http_alertmanager, ca_file, NULL,
	    0, "CA bundle to verify Alertmanager's certificate"),
	KR("timeout", CK_DUR, struct conf_http_alertmanager, timeout, "10s",
	    1, 300, "timeout of one request to Alertmanager"),
	KEND
};

static const struct ckey http_keys[] = {
	K("enabled", CK_BOOL, struct conf_http, enabled, "true", 0,
	    "listen for webhooks, /metrics and /healthz"),
	K("listen", CK_STR, struct conf_http, listen, "127.0.0.1:9180", 0,
	    "address:port to listen on"),
	KR("timeout", CK_DUR, struct conf_http, timeout, "10s", 1, 300,
	    "a request must arrive whole within this; idle connections "
	    "close after it"),
	KSEC("tls", struct conf_http, tls, http_tls_keys,
	    offsetof(struct conf_http, tls.enabled), "HTTPS"),
	KSEC("proxmox", struct conf_http, proxmox, http_hook_keys,
	    offsetof(struct conf_http, proxmox.enabled),
	    "/hooks/proxmox: Proxmox VE and Backup Server notifications"),
	KSEC("alertmanager", struct conf_http, alertmanager, http_am_keys,
	    offsetof(struct conf_http, alertmanager.enabled),
	    "/hooks/alertmanager: Alertmanager's webhook"),
	KSEC("metrics", struct conf_http, metrics, http_page_keys, NONE,
	    "/metrics: Prometheus text format"),
	KSEC("healthz", struct conf_http, healthz, http_page_keys, NONE,
	    "/healthz: 200 or 503 with a reason"),
	KEND
};

static const struct ckey heartbeat_keys[] = {
	K("enabled", CK_BOOL, struct conf_heartbeat, enabled, "true", 0,
	    "ping url while pvebot is healthy"),
	K("url", CK_SECRET, struct conf_heartbeat, url, NULL, 1,
	    "push URL (healthchecks, Uptime Kuma); it holds a token"),
	KENUM("method", struct conf_heartbeat, method, "GET", http_methods,
	    "GET or POST"),
	KR("interval", CK_DUR, struct conf_heartbeat, interval, "60s", 1,
	    86400, "time between pings"),
	KR("timeout", CK_DUR, struct conf_heartbeat, timeout, "10s", 1, 300,
	    "timeout of one ping"),
	KEND
};

static const struct ckey idle_node_keys[] = {
	K("node", CK_STR, struct conf_idle_node, node, NULL, 1,
	    "the node to shut down when idle"),
	KR("grace", CK_DUR, struct conf_idle_node, grace, "30m", 60,
	    86400 * 7, "how long only safe-shutdown guests (or none) must "
	    "have run"),
	KR("flap_window", CK_DUR, struct conf_idle_node, flap_window, "6h",
	    60, 86400 * 30, "at most one idle shutdown of the node within"),
	KEND
};

static const struct ckey expected_keys[] = {
	K("enabled", CK_BOOL, struct conf_expected, enabled, "true", 0,
	    "alert when a guest expected to run is stopped"),
	K("onboot", CK_BOOL, struct conf_expected, onboot, "true", 0,
	    "guests with onboot=1 are expected to run"),
	K("tag", CK_STR, struct conf_expected, tag, NULL, 0,
	    "guests with this tag are expected to run"),
	KEND
};

static const struct ckey snap_retention_keys[] = {
	K("enabled", CK_BOOL, struct conf_snap_retention, enabled, "true", 0,
	    "delete pvebot's own old snapshots"),
	K("prefix", CK_STR, struct conf_snap_retention, prefix, "auto-", 0,
	    "only snapshots whose name starts with this are touched"),
	KR("max_age", CK_DUR, struct conf_snap_retention, max_age, "0", 0,
	    86400 * 3650, "older ones are deleted (0: no age limit)"),
	KR("max_count", CK_INT, struct conf_snap_retention, max_count, "0",
	    0, 1000, "per guest, the newest this many are kept (0: no limit)"),
	KR("interval", CK_DUR, struct conf_snap_retention, interval, "1h",
	    60, 86400 * 7, "time between clean-ups"),
	KEND
};

static const struct ckey operations_keys[] = {
	K("room", CK_STR, struct conf_operations, room, NULL, 0,
	    "CONNECTOR:ROOM where requests and their messages go"),
	KLIST("idle_shutdown", struct conf_operations, idle, nidle,
	    idle_node_keys, struct conf_idle_node, "node",
	    "nodes shut down when idle"),
	KSEC("expected_running", struct conf_operations, expected,
	    expected_keys,
	    offsetof(struct conf_operations, expected.enabled),
	    "guests expected to run"),
	KSEC("snapshot_retention", struct conf_operations, snapshots,
	    snap_retention_keys,
	    offsetof(struct conf_operations, snapshots.enabled),
	    "clean-up of pvebot's own snapshots"),
	KEND
};

static const struct ckey top_keys[] = {
	K("database", CK_PATH, struct conf, database, "pvebot.db", 0,
	    "SQLite database file, or postgresql://USER@HOST:PORT/DB "
	    "(docs/ha.md)"),
	K("database_password", CK_SECRET, struct conf, database_password,
	    NULL, 0, "PostgreSQL password (database_password_file: PATH)"),
	K("commands", CK_PATH, struct conf, commands_dir, "commands", 0,
	    "folder of command catalogue files"),
	K("local_commands", CK_PATH, struct conf, local_commands_dir, NULL, 0,
	    "folder whose *.yaml add to `commands` or replace its file of "
	    "the same name"),
	K("policies", CK_PATH, struct conf, policies_dir, "policies", 0,
	    "folder of policy files"),
	K("schedules", CK_PATH, struct conf, schedules_file, NULL, 0,
	    "schedules file: commands run on a calendar as schedule:NAME"),
	K("provisioning", CK_PATH, struct conf, provisioning_file, NULL, 0,
	    "provisioning conventions file: names, subnets, ranges, MACs "
	    "(docs/provisioning.md)"),
	K("inventory", CK_PATH, struct conf, inventory_dir, NULL, 0,
	    "folder of the inventory export, one YAML file per node"),
	KENUM("log_level", struct conf, log_level, "info", levels,
	    "debug, info, warn or error"),
	KSEC("chat", struct conf, chat, chat_keys, NONE, "chat platforms"),
	KSEC("proxmox", struct conf, proxmox, proxmox_keys,
	    offsetof(struct conf, proxmox.enabled), "Proxmox VE API"),
	KSEC("ssh", struct conf, ssh, ssh_keys, NONE, "SSH hosts"),
	KSEC("workers", struct conf, workers, worker_keys, NONE,
	    "job workers"),
	KSEC("monitor", struct conf, monitor, monitor_keys, NONE,
	    "alerts"),
	KSEC("digest", struct conf, digest, digest_keys, NONE,
	    "daily digest"),
	KSEC("audit", struct conf, audit, audit_keys, NONE, "audit log"),
	KSEC("instance", struct conf, instance, instance_keys, NONE,
	    "this instance among several on one PostgreSQL database"),
	KSEC("http", struct conf, http, http_keys,
	    offsetof(struct conf, http.enabled),
	    "webhooks, /metrics and /healthz"),
	KSEC("heartbeat", struct conf, heartbeat, heartbeat_keys,
	    offsetof(struct conf, heartbeat.enabled), "dead-man ping"),
	KSEC("operations", struct conf, operations, operations_keys, NONE,
	    "idle node shutdown, expected-running guests, snapshot "
	    "retention"),
	KEND
};

struct walker {
	const char	*file;
	int		 disabled;	/* inside a section turned off */
	char		*base;		/* folder relative paths start from */
	yaml_document_t	*doc;
	struct buf	 errors;
	int		 nerrors;
};

static void
werr(struct walker *w, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
werr(struct walker *w, const yaml_node_t *n, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (n != NULL)
		buf_printf(&w->errors, "%s:%zu:%zu: %s\n", w->file,
		    n->start_mark.line + 1, n->start_mark.column + 1, msg);
	else
		buf_printf(&w->errors, "%s: %s\n", w->file, msg);
	w->nerrors++;
	free(msg);
}

static const char *
scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static void *
field(void *base, size_t off)
{
	return (char *)base + off;
}

static char *
resolve_path(struct walker *w, const char *p)
{
	if (p[0] == '/' || w->base == NULL)
		return xstrdup(p);
	return xasprintf("%s/%s", w->base, p);
}

static int
parse_bool(const char *s, int *v)
{
	static const char *yes[] = { "true", "yes", "on" };
	static const char *no[] = { "false", "no", "off" };
	size_t	 i;

	for (i = 0; i < nitems(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*v = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*v = 0;
			return 0;
		}
	}
	return -1;
}

static int
valid_time(const char *s)
{
	return strlen(s) == 5 && isdigit((unsigned char)s[0]) &&
	    isdigit((unsigned char)s[1]) && s[2] == ':' &&
	    isdigit((unsigned char)s[3]) && isdigit((unsigned char)s[4]) &&
	    (s[0] - '0') * 10 + (s[1] - '0') < 24 &&
	    (s[3] - '0') * 10 + (s[4] - '0') < 60;
}

/* One pin, or several separated by commas (each node has its own). */
static int
valid_fingerprint(const char *s)
{
	size_t	 i, len;

	for (;;) {
		len = strcspn(s, ",");
		if (len != 95)
			return 0;
		for (i = 0; i < 95; i++) {
			if (i % 3 == 2) {
				if (s[i] != ':')
					return 0;
			} else if (!isxdigit((unsigned char)s[i]))
				return 0;
		}
		if (s[len] == '\0')
			return 1;
		s += len + 1;
	}
}

/* Converts one scalar into its field; text is the value, n its node. */
static int
set_scalar(struct walker *w, const struct ckey *k, void *base,
    const char *text, const yaml_node_t *n)
{
	const char	*errstr;
	char		*cause = NULL, *end;
	long long	 ll;
	int64_t		 secs;
	double		 d;
	int		 b;
	size_t		 i;

	switch (k->type) {
	case CK_STR:
		*(char **)field(base, k->off) = xstrdup(text);
		return 0;
	case CK_PATH:
		/* `database` may name a PostgreSQL server instead. */
		if (strcmp(k->name, "database") == 0 && (str_has_prefix(text,
		    "postgresql://") || str_has_prefix(text, "postgres://"))) {
			*(char **)field(base, k->off) = xstrdup(text);
			return 0;
		}
		*(char **)field(base, k->off) = resolve_path(w, text);
		return 0;
	case CK_URL:
		if (!str_has_prefix(text, "https://") &&
		    !str_has_prefix(text, "http://")) {
			werr(w, n, "%s: expected an http:// or https:// URL, "
			    "got '%s'", k->name, text);
			return -1;
		}
		*(char **)field(base, k->off) = xstrdup(text);
		return 0;
	case CK_INT:
	case CK_I64:
		ll = strtonum(text, k->min, k->max, &errstr);
		if (errstr != NULL) {
			werr(w, n, "%s: expected an integer from %lld to %lld, "
			    "got '%s' (%s)", k->name, k->min, k->max, text,
			    errstr);
			return -1;
		}
		if (k->type == CK_INT)
			*(int *)field(base, k->off) = (int)ll;
		else
			*(int64_t *)field(base, k->off) = ll;
		return 0;
	case CK_DUR:
		if (parse_duration(text, &secs, &cause) != 0) {
			werr(w, n, "%s: %s", k->name, cause);
			free(cause);
			return -1;
		}
		if (secs < k->min || secs > k->max) {
			werr(w, n, "%s: expected a duration from %llds to "
			    "%llds, got '%s'", k->name, k->min, k->max, text);
			return -1;
		}
		*(int64_t *)field(base, k->off) = secs;
		return 0;
	case CK_BOOL:
		if (parse_bool(text, &b) != 0) {
			werr(w, n, "%s: expected true or false, got '%s'",
			    k->name, text);
			return -1;
		}
		*(int *)field(base, k->off) = b;
		return 0;
	case CK_NUM:
		errno = 0;
		d = strtod(text, &end);
		if (*text == '\0' || *end != '\0' || errno != 0) {
			werr(w, n, "%s: expected a number, got '%s'", k->name,
			    text);
			return -1;
		}
		*(double *)field(base, k->off) = d;
		if (k->has_off != NONE)
			*(int *)field(base, k->has_off) = 1;
		return 0;
	case CK_ENUM:
		for (i = 0; k->enums[i] != NULL; i++) {
			if (strcmp(text, k->enums[i]) == 0) {
				*(char **)field(base, k->off) = xstrdup(text);
				return 0;
			}
		}
		{
			struct buf	 b2;

			buf_init(&b2, 0);
			for (i = 0; k->enums[i] != NULL; i++)
				buf_printf(&b2, "%s%s", i ? ", " : "",
				    k->enums[i]);
			werr(w, n, "%s: expected one of %s, got '%s'",
			    k->name, buf_cstr(&b2), text);
			buf_release(&b2);
		}
		return -1;
	case CK_FPR:
		if (!valid_fingerprint(text)) {
			werr(w, n, "%s: expected 32 hex pairs separated by "
			    "colons (AA:BB:...), as Proxmox shows it; several "
			    "pins are separated by commas", k->name);
			return -1;
		}
		*(char **)field(base, k->off) = xstrdup(text);
		return 0;
	case CK_TOKENID:
		if (strchr(text, '@') == NULL || strchr(text, '!') == NULL ||
		    strchr(text, '@') > strchr(text, '!')) {
			werr(w, n, "%s: expected user@realm!tokenid, got '%s'",
			    k->name, text);
			return -1;
		}
		*(char **)field(base, k->off) = xstrdup(text);
		return 0;
	case CK_TIME:
		if (!valid_time(text)) {
			werr(w, n, "%s: expected a time HH:MM, got '%s'",
			    k->name, text);
			return -1;
		}
		*(char **)field(base, k->off) = xstrdup(text);
		return 0;
	case CK_ZONE:
		if (tz_check(text, &cause) != 0) {
			werr(w, n, "%s: %s", k->name, cause);
			free(cause);
			return -1;
		}
		*(char **)field(base, k->off) = xstrdup(text);
		return 0;
	default:
		werr(w, n, "%s: expected a %s", k->name,
		    k->type == CK_SECTION ? "mapping" : "list");
		return -1;
	}
}

/*
 * Every folder from path's own up to / must belong to root or to us and
 * be writable by nobody else (a sticky folder such as /tmp excepted):
 * otherwise someone else could swap the file for one they wrote.
 */
static int
secret_folders_safe(const char *path, uid_t uid, char **cause)
{
	struct stat	 st;
	char		*copy = xstrdup(path), *dir, *real, *slash;
	int		 rc = 0;

	dir = dirname(copy);
	if ((real = realpath(dir, NULL)) == NULL) {
		set_cause(cause, "cannot read secret file %s: %s", path,
		    strerror(errno));
		free(copy);
		return -1;
	}
	for (;;) {
		if (stat(real, &st) == -1) {
			rc = set_cause(cause, "cannot check folder %s of secret "
			    "file %s: %s", real, path, strerror(errno));
			break;
		}
		if (st.st_uid != uid && st.st_uid != 0) {
			rc = set_cause(cause, "secret file %s is in folder %s, "
			    "which belongs to uid %u, not to pvebot's user "
			    "(uid %u) or root", path, real,
			    (unsigned)st.st_uid, (unsigned)uid);
			break;
		}
		if ((st.st_mode & 022) != 0 && (st.st_mode & S_ISVTX) == 0) {
			rc = set_cause(cause, "secret file %s is in folder %s, "
			    "which group or others may write to (mode %04o), "
			    "so someone else could replace it: run chmod go-w "
			    "%s", path, real, (unsigned)(st.st_mode & 07777),
			    real);
			break;
		}
		if (strcmp(real, "/") == 0)
			break;
		slash = strrchr(real, '/');
		if (slash == real)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	free(real);
	free(copy);
	return rc;
}

char *
conf_read_secret_file(const char *path, char **cause)
{
	struct stat	 st;
	struct buf	 b;
	char		 chunk[1024], *trimmed;
	ssize_t		 n;
	uid_t		 uid = geteuid();
	int		 fd;

	if (secret_folders_safe(path, uid, cause) != 0)
		return NULL;
	/* Never follow a link, never wait on a FIFO: look before reading. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC);
	if (fd == -1) {
		if (errno == ELOOP)
			set_cause(cause, "secret file %s is a symbolic link: "
			    "name the file itself", path);
		else
			set_cause(cause, "cannot read secret file %s: %s",
			    path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		set_cause(cause, "secret file %s is not a regular file", path);
		close(fd);
		return NULL;
	}
	if (st.st_uid != uid && st.st_uid != 0) {
		set_cause(cause, "secret file %s belongs to uid %u, not to "
		    "pvebot's user (uid %u) or root", path,
		    (unsigned)st.st_uid, (unsigned)uid);
		close(fd);
		return NULL;
	}
	if ((st.st_mode & 077) != 0) {
		set_cause(cause, "secret file %s is readable by group or "
		    "others (mode %04o): run chmod 600 %s", path,
		    (unsigned)(st.st_mode & 07777), path);
		close(fd);
		return NULL;
	}
	buf_init(&b, SECRET_MAX_SIZE);
	buf_append(&b, "", 0);
	while ((n = read(fd, chunk, sizeof chunk)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || buf_append(&b, chunk, (size_t)n) != 0) {
			set_cause(cause, n < 0 ? "cannot read secret file %s" :
			    "secret file %s is larger than 4096 bytes", path);
			explicit_bzero(chunk, sizeof chunk);
			explicit_bzero(b.data, b.len);
			buf_release(&b);
			close(fd);
			return NULL;
		}
	}
	close(fd);
	explicit_bzero(chunk, sizeof chunk);
	trimmed = xstrdup(str_trim(b.data));
	explicit_bzero(b.data, b.len);
	buf_release(&b);
	if (*trimmed == '\0') {
		free(trimmed);
		set_cause(cause, "secret file %s is empty", path);
		return NULL;
	}
	return trimmed;
}

/*
 * A credential systemd loaded for this run. systemd writes it 0400, owned
 * by root, and lets the service's user read it with an ACL entry, which
 * stat() shows as group read bits (the ACL mask) although no group may
 * read it; where the file system has no ACLs it chowns the file to the
 * user instead (and with PrivateUsers= root shows as an unmapped owner).
 * So a credential is accepted when it is a regular file directly in the
 * folder with no bit for others and no write bit for group: what systemd
 * makes, and nothing looser. Its folder is systemd's, private to the
 * unit, so the owner says nothing more.
 */
static char *
read_credential(const char *name, char **cause)
{
	const char	*dir = getenv("CREDENTIALS_DIRECTORY");
	struct stat	 st;
	char		*path, *data, *trimmed;

	if (dir == NULL || dir[0] != '/') {
		set_cause(cause, "${CREDENTIALS_DIRECTORY} is not set: systemd "
		    "sets it in a unit with LoadCredential=%s; outside the "
		    "unit, name the folder that holds the file, e.g. "
		    "CREDENTIALS_DIRECTORY=/etc/pvebot pvebot check", name);
		return NULL;
	}
	if (*name == '\0' || strchr(name, '/') != NULL ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		set_cause(cause, "'%s' is not a credential name (a file name "
		    "directly in ${CREDENTIALS_DIRECTORY})", name);
		return NULL;
	}
	path = xasprintf("%s/%s", dir, name);
	if (lstat(path, &st) == -1) {
		set_cause(cause, "cannot read credential %s: %s (is "
		    "LoadCredential=%s in the unit?)", path, strerror(errno),
		    name);
		free(path);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 0027) != 0) {
		set_cause(cause, "credential %s is not a private file (mode "
		    "%04o): expected what LoadCredential= makes", path,
		    (unsigned)(st.st_mode & 07777));
		free(path);
		return NULL;
	}
	data = read_file(path, SECRET_MAX_SIZE, NULL, cause);
	if (data == NULL) {
		free(path);
		return NULL;
	}
	trimmed = xstrdup(str_trim(data));
	free(data);
	if (*trimmed == '\0') {
		free(trimmed);
		set_cause(cause, "credential %s is empty", path);
		free(path);
		return NULL;
	}
	free(path);
	return trimmed;
}

/* The credential name when a path is written ${CREDENTIALS_DIRECTORY}/NAME. */
static const char *
credential_name(const char *text)
{
	static const char *forms[] = { "${CREDENTIALS_DIRECTORY}/",
	    "$CREDENTIALS_DIRECTORY/" };
	size_t	 i;

	for (i = 0; i < nitems(forms); i++) {
		if (str_has_prefix(text, forms[i]))
			return text + strlen(forms[i]);
	}
	return NULL;
}

static int
set_secret(struct walker *w, const struct ckey *k, void *base,
    const char *how, const char *text, const yaml_node_t *n)
{
	char		*cause = NULL, *value = NULL, *path;
	char	       **slot = field(base, k->off);
	const char	*cred;

	if (*slot != NULL) {
		werr(w, n, "%s: give only one of %s_file and %s_env", k->name,
		    k->name, k->name);
		return -1;
	}
	if (strcmp(how, "file") == 0) {
		if ((cred = credential_name(text)) != NULL)
			value = read_credential(cred, &cause);
		else {
			path = resolve_path(w, text);
			value = conf_read_secret_file(path, &cause);
			free(path);
		}
		if (value == NULL) {
			werr(w, n, "%s_file: %s", k->name, cause);
			free(cause);
			return -1;
		}
	} else {
		const char	*env = getenv(text);

		if (env == NULL || *env == '\0') {
			werr(w, n, "%s_env: environment variable %s is not set",
			    k->name, text);
			return -1;
		}
		value = xstrdup(env);
	}
	log_add_secret(value);
	*slot = value;
	return 0;
}

static void walk_mapping(struct walker *, const struct ckey *, void *,
    yaml_node_t *, const char *);

static void
apply_defaults(struct walker *w, const struct ckey *keys, void *base)
{
	const struct ckey	*k;

	for (k = keys; k->name != NULL; k++) {
		if (k->type == CK_SECTION) {
			apply_defaults(w, k->sub, field(base, k->off));
			if (k->flag_off != NONE)
				*(int *)field(base, k->flag_off) = 0;
			continue;
		}
		if (k->def != NULL)
			set_scalar(w, k, base, k->def, NULL);
	}
}

/* Frees what a default put in place before the file's value replaces it. */
static void
clear_field(const struct ckey *k, void *base)
{
	switch (k->type) {
	case CK_STR:
	case CK_PATH:
	case CK_URL:
	case CK_ENUM:
	case CK_TIME:
	case CK_ZONE:
	case CK_FPR:
	case CK_TOKENID:
		free(*(char **)field(base, k->off));
		*(char **)field(base, k->off) = NULL;
		break;
	default:
		break;
	}
}

static void
walk_strlist(struct walker *w, const struct ckey *k, void *base,
    yaml_node_t *n)
{
	char		***list = field(base, k->off);
	size_t		 *count = field(base, k->count_off);
	yaml_node_item_t *it;

	if (n->type == YAML_SCALAR_NODE) {
		/* A single value is a list of one. */
		*list = xreallocarray(*list, *count + 1, sizeof **list);
		(*list)[(*count)++] = xstrdup(scalar(n));
		return;
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		werr(w, n, "%s: expected a list of values", k->name);
		return;
	}
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++) {
		yaml_node_t	*item = yaml_document_get_node(w->doc, *it);

		if (item->type != YAML_SCALAR_NODE) {
			werr(w, item, "%s: expected a plain value in the list",
			    k->name);
			continue;
		}
		*list = xreallocarray(*list, *count + 1, sizeof **list);
		(*list)[(*count)++] = xstrdup(scalar(item));
	}
}

static void
walk_list(struct walker *w, const struct ckey *k, void *base,
    yaml_node_t *n)
{
	void		**array = field(base, k->off);
	size_t		 *count = field(base, k->count_off);
	yaml_node_item_t *it;

	if (n->type != YAML_SEQUENCE_NODE) {
		werr(w, n, "%s: expected a list", k->name);
		return;
	}
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++) {
		yaml_node_t	*item = yaml_document_get_node(w->doc, *it);
		void		*elem;

		*array = xreallocarray(*array, *count + 1, k->elem_size);
		elem = (char *)*array + *count * k->elem_size;
		memset(elem, 0, k->elem_size);
		(*count)++;
		apply_defaults(w, k->sub, elem);
		if (item->type == YAML_SCALAR_NODE && k->shorthand != NULL) {
			const struct ckey	*sk;

			for (sk = k->sub; sk->name != NULL; sk++) {
				if (strcmp(sk->name, k->shorthand) == 0)
					break;
			}
			set_scalar(w, sk, elem, scalar(item), item);
			continue;
		}
		if (item->type != YAML_MAPPING_NODE) {
			werr(w, item, "%s: expected a mapping in the list",
			    k->name);
			continue;
		}
		walk_mapping(w, k->sub, elem, item, k->name);
	}
}

/*
 * A section with `enabled: false` is not used, so its secrets are neither
 * read nor required: an example file can show every block and still pass
 * `pvebot check`.
 */
static int
mapping_disabled(struct walker *w, yaml_node_t *map)
{
	yaml_node_pair_t	*p;
	int			 v;

	for (p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; p++) {
		yaml_node_t	*kn = yaml_document_get_node(w->doc, p->key);
		yaml_node_t	*vn = yaml_document_get_node(w->doc, p->value);

		if (kn->type == YAML_SCALAR_NODE &&
		    strcmp(scalar(kn), "enabled") == 0 &&
		    vn->type == YAML_SCALAR_NODE &&
		    parse_bool(scalar(vn), &v) == 0 && v == 0)
			return 1;
	}
	return 0;
}

static void
walk_mapping(struct walker *w, const struct ckey *keys, void *base,
    yaml_node_t *map, const char *where)
{
	yaml_node_pair_t	*p;
	const struct ckey	*k;
	unsigned char		 seen[64];
	size_t			 i;
	int			 disabled = w->disabled ||
	    mapping_disabled(w, map), outer = w->disabled;

	memset(seen, 0, sizeof seen);
	for (p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; p++) {
		yaml_node_t	*kn = yaml_document_get_node(w->doc, p->key);
		yaml_node_t	*vn = yaml_document_get_node(w->doc, p->value);
		const char	*name, *how = NULL;
		char		 stem[64];

		if (kn->type != YAML_SCALAR_NODE) {
			werr(w, kn, "keys must be plain names");
			continue;
		}
		name = scalar(kn);
		for (k = keys, i = 0; k->name != NULL; k++, i++) {
			size_t	 len = strlen(k->name);

			if (k->type == CK_SECRET &&
			    strncmp(name, k->name, len) == 0 &&
			    (strcmp(name + len, "_file") == 0 ||
			    strcmp(name + len, "_env") == 0)) {
				how = name + len + 1;
				break;
			}
			if (strcmp(name, k->name) == 0)
				break;
		}
		if (k->name == NULL) {
			werr(w, kn, "unknown key '%s' in %s", name, where);
			continue;
		}
		if (i < sizeof seen && seen[i]++ && k->type != CK_SECRET) {
			werr(w, kn, "key '%s' is given twice", name);
			continue;
		}
		if (k->type == CK_SECRET) {
			if (how == NULL) {
				werr(w, kn, "%s: secrets are never inline; use "
				    "%s_file: PATH or %s_env: NAME", name,
				    name, name);
				continue;
			}
			if (vn->type != YAML_SCALAR_NODE) {
				werr(w, vn, "%s: expected a value", name);
				continue;
			}
			if (!disabled)
				set_secret(w, k, base, how, scalar(vn), vn);
			continue;
		}
		snprintf(stem, sizeof stem, "%s", name);
		switch (k->type) {
		case CK_SECTION:
			if (vn->type == YAML_SCALAR_NODE &&
			    *scalar(vn) == '\0')
				break;	/* "telegram:" with nothing under it */
			if (vn->type != YAML_MAPPING_NODE) {
				werr(w, vn, "%s: expected a mapping", name);
				break;
			}
			if (k->flag_off != NONE)
				*(int *)field(base, k->flag_off) = 1;
			/* What a section turned off holds is off too. */
			w->disabled = disabled;
			walk_mapping(w, k->sub, field(base, k->off), vn, stem);
			w->disabled = outer;
			break;
		case CK_LIST:
			walk_list(w, k, base, vn);
			break;
		case CK_STRLIST:
			walk_strlist(w, k, base, vn);
			break;
		default:
			if (vn->type != YAML_SCALAR_NODE) {
				werr(w, vn, "%s: expected a single value, not a "
				    "%s", name, vn->type == YAML_MAPPING_NODE ?
				    "mapping" : "list");
				break;
			}
			clear_field(k, base);
			set_scalar(w, k, base, scalar(vn), vn);
			break;
		}
	}
	/* Required keys; secrets are checked by field. */
	for (k = keys; k->name != NULL; k++) {
		if (!k->required || (disabled && k->type == CK_SECRET))
			continue;
		if (k->type == CK_SECRET) {
			if (*(char **)field(base, k->off) == NULL)
				werr(w, map, "%s: missing required key %s_file "
				    "or %s_env", where, k->name, k->name);
		} else if (*(char **)field(base, k->off) == NULL)
			werr(w, map, "%s: missing required key '%s'", where,
			    k->name);
	}
}

static void
free_keys(const struct ckey *keys, void *base)
{
	const struct ckey	*k;
	size_t			 i;

	for (k = keys; k->name != NULL; k++) {
		switch (k->type) {
		case CK_STR:
		case CK_PATH:
		case CK_URL:
		case CK_ENUM:
		case CK_TIME:
		case CK_ZONE:
		case CK_FPR:
		case CK_TOKENID:
		case CK_SECRET:
			free(*(char **)field(base, k->off));
			break;
		case CK_SECTION:
			free_keys(k->sub, field(base, k->off));
			break;
		case CK_STRLIST: {
			char	**list = *(char ***)field(base, k->off);
			size_t	  n = *(size_t *)field(base, k->count_off);

			for (i = 0; i < n; i++)
				free(list[i]);
			free(list);
			break;
		}
		case CK_LIST: {
			char	*array = *(char **)field(base, k->off);
			size_t	 n = *(size_t *)field(base, k->count_off);

			for (i = 0; i < n; i++)
				free_keys(k->sub, array + i * k->elem_size);
			free(array);
			break;
		}
		default:
			break;
		}
	}
}

void
conf_free(struct conf *c)
{
	if (c == NULL)
		return;
	free_keys(top_keys, c);
	free(c->path);
	free(c);
}

/* The value of `key` in mapping n, or NULL. */
static yaml_node_t *
map_get(struct walker *w, yaml_node_t *n, const char *key)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k;

	if (n == NULL || n->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		k = yaml_document_get_node(w->doc, p->key);
		if (k != NULL && k->type == YAML_SCALAR_NODE &&
		    strcmp(scalar(k), key) == 0)
			return yaml_document_get_node(w->doc, p->value);
	}
	return NULL;
}

/* Item i of sequence n, or n itself (for its line) when there is none. */
static yaml_node_t *
seq_item(struct walker *w, yaml_node_t *n, size_t i)
{
	if (n == NULL || n->type != YAML_SEQUENCE_NODE ||
	    (size_t)(n->data.sequence.items.top -
	    n->data.sequence.items.start) <= i)
		return n;
	return yaml_document_get_node(w->doc, n->data.sequence.items.start[i]);
}

/* A Proxmox node name (pve-node format: a DNS label). */
static int
node_name_ok(const char *s)
{
	size_t	 i, n = strlen(s);

	if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]))
		return 0;
	for (i = 0; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
	}
	return s[n - 1] != '-';
}

/* operations: what one setting means for another, at its line. */
static void
check_operations(struct walker *w, struct conf *c, yaml_node_t *root)
{
	struct conf_operations	*o = &c->operations;
	yaml_node_t		*on = map_get(w, root, "operations");
	yaml_node_t		*idle = map_get(w, on, "idle_shutdown");
	yaml_node_t		*room = map_get(w, on, "room");
	yaml_node_t		*snaps = map_get(w, on, "snapshot_retention");
	const char		*colon, *name;
	size_t			 i, j;
	int			 enabled;

	if (on == NULL)
		return;
	if (o->room != NULL) {
		colon = strchr(o->room, ':');
		name = colon != NULL ? o->room : "";
		enabled = 0;
		if (colon != NULL) {
			size_t	 n = (size_t)(colon - o->room);

			if (n == 7 && strncmp(name, "console", 7) == 0)
				enabled = c->chat.console.enabled;
			else if (n == 8 && strncmp(name, "telegram", 8) == 0)
				enabled = c->chat.telegram.enabled;
			else if (n == 6 && strncmp(name, "matrix", 6) == 0)
				enabled = c->chat.matrix.enabled;
			else if (n == 7 && strncmp(name, "discord", 7) == 0)
				enabled = c->chat.discord.enabled;
			else
				enabled = -1;
		}
		if (colon == NULL || colon[1] == '\0' || enabled == -1 ||
		    strlen(o->room) > 255)
			werr(w, room, "operations.room: expected CONNECTOR:ROOM "
			    "(telegram:-100123, matrix:!id:hs, discord:123, "
			    "console:console)");
		else if (!enabled)
			werr(w, room, "operations.room: the %.*s connector is "
			    "not enabled", (int)(colon - o->room), o->room);
	}
	for (i = 0; i < o->nidle; i++) {
		yaml_node_t	*item = seq_item(w, idle, i);

		if (o->idle[i].node == NULL)
			continue;
		if (!node_name_ok(o->idle[i].node))
			werr(w, item, "operations.idle_shutdown: '%s' is not a "
			    "node name", o->idle[i].node);
		for (j = 0; j < i; j++) {
			if (o->idle[j].node != NULL &&
			    strcmp(o->idle[i].node, o->idle[j].node) == 0)
				werr(w, item, "operations.idle_shutdown: node "
				    "'%s' is listed twice", o->idle[i].node);
		}
		if (o->idle[i].flap_window < o->idle[i].grace)
			werr(w, item, "operations.idle_shutdown: node '%s': "
			    "flap_window is shorter than grace",
			    o->idle[i].node);
	}
	if (o->nidle > 0 && o->room == NULL)
		werr(w, idle, "operations.idle_shutdown: needs operations.room "
		    "for its requests");
	if (o->snapshots.enabled) {
		const char	*p = o->snapshots.prefix;

		if (o->room == NULL)
			werr(w, snaps, "operations.snapshot_retention: needs "
			    "operations.room for its requests");
		if (o->snapshots.max_age == 0 && o->snapshots.max_count == 0)
			werr(w, snaps, "operations.snapshot_retention: set "
			    "max_age, max_count or both");
		if (p == NULL || *p == '\0' || strlen(p) > 32 ||
		    !isalpha((unsigned char)p[0]) ||
		    strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789-_") != strlen(p))
			werr(w, snaps, "operations.snapshot_retention: prefix "
			    "'%s' must start a snapshot name (a letter, then "
			    "letters, digits, - and _)", p != NULL ? p : "");
	}
	if (o->expected.enabled && !o->expected.onboot &&
	    o->expected.tag == NULL)
		werr(w, map_get(w, on, "expected_running"),
		    "operations.expected_running: onboot is off and no tag "
		    "is given: no guest would be expected to run");
}

/* workers.retention: a storage once, each with some retention. */
static void
check_retention(struct walker *w, struct conf *c, yaml_node_t *root)
{
	yaml_node_t	*seq, *item;
	size_t		 i, j;

	seq = map_get(w, map_get(w, root, "workers"), "retention");
	for (i = 0; i < c->workers.nretention; i++) {
		const struct conf_retention	*r = &c->workers.retention[i];

		item = seq != NULL && seq->type == YAML_SEQUENCE_NODE &&
		    (size_t)(seq->data.sequence.items.top -
		    seq->data.sequence.items.start) > i ?
		    yaml_document_get_node(w->doc,
		    seq->data.sequence.items.start[i]) : root;
		if (r->storage == NULL)
			continue;
		if (r->keep_last + r->keep_hourly + r->keep_daily +
		    r->keep_weekly + r->keep_monthly + r->keep_yearly == 0)
			werr(w, item, "workers.retention: storage '%s' keeps "
			    "nothing: give at least one of keep_last, "
			    "keep_hourly, keep_daily, keep_weekly, "
			    "keep_monthly, keep_yearly", r->storage);
		for (j = 0; j < i; j++) {
			if (c->workers.retention[j].storage != NULL &&
			    strcmp(c->workers.retention[j].storage,
			    r->storage) == 0)
				werr(w, item, "workers.retention: storage '%s' "
				    "is given twice", r->storage);
		}
	}
}

/* Checks that span keys: what one key means for another. */
static void
check_semantics(struct walker *w, struct conf *c, yaml_node_t *root)
{
	size_t	 i, j;

	for (i = 0; i < c->proxmox.nurls; i++) {
		if (!str_has_prefix(c->proxmox.urls[i], "https://") &&
		    !str_has_prefix(c->proxmox.urls[i], "http://"))
			werr(w, root, "proxmox.urls: '%s' is not an http(s) "
			    "URL", c->proxmox.urls[i]);
	}
	if (c->proxmox.enabled && c->proxmox.nurls > 0 &&
	    (c->proxmox.token_id == NULL ||
	    c->proxmox.secret == NULL))
		werr(w, root, "proxmox: token_id and secret_file (or "
		    "secret_env) are required when urls are given");
	check_retention(w, c, root);
	if (c->database != NULL && (str_has_prefix(c->database,
	    "postgresql://") || str_has_prefix(c->database, "postgres://"))) {
		/* A shared database has one chain: every instance keys it
		 * with the same file, so the default beside a SQLite file
		 * has no meaning here. */
		if (c->audit.key_file == NULL)
			werr(w, root, "audit.key_file is required when the "
			    "database is PostgreSQL: give every instance a "
			    "copy of the same key file (docs/ha.md)");
		if (strchr(strstr(c->database, "://") + 3, '@') != NULL &&
		    strchr(strstr(c->database, "://") + 3, ':') != NULL &&
		    strchr(strstr(c->database, "://") + 3, ':') <
		    strchr(strstr(c->database, "://") + 3, '@'))
			werr(w, root, "database: the URL holds a password; "
			    "put it in database_password_file instead");
	}
	for (i = 0; i < c->ssh.nhosts; i++) {
		for (j = 0; j < i; j++) {
			if (strcmp(c->ssh.hosts[i].name,
			    c->ssh.hosts[j].name) == 0)
				werr(w, root, "ssh.hosts: host '%s' is defined "
				    "twice", c->ssh.hosts[i].name);
		}
	}
	for (i = 0; i < c->monitor.nrules; i++) {
		struct conf_rule	*r = &c->monitor.rules[i];

		if (!r->has_threshold)
			werr(w, root, "monitor.rules: rule '%s' has no "
			    "threshold", r->name);

		for (j = 0; j < c->monitor.nrules; j++) {
			if (j < i && strcmp(r->name,
			    c->monitor.rules[j].name) == 0)
				werr(w, root, "monitor.rules: rule '%s' is "
				    "defined twice", r->name);
		}
	}
	for (i = 0; i < c->monitor.nsensor_hosts; i++) {
		if (conf_ssh_host_find(c, c->monitor.sensor_hosts[i]) == NULL)
			werr(w, root, "monitor.sensor_hosts: '%s' is not a "
			    "host in ssh.hosts", c->monitor.sensor_hosts[i]);
	}
	for (i = 0; i < c->monitor.ngpu_hosts; i++) {
		if (conf_ssh_host_find(c, c->monitor.gpu_hosts[i]) == NULL)
			werr(w, root, "monitor.gpu_hosts: '%s' is not a "
			    "host in ssh.hosts", c->monitor.gpu_hosts[i]);
	}
	for (i = 0; i < c->monitor.nsensor_limits; i++) {
		const struct conf_sensor_limit	*l =
		    &c->monitor.sensor_limits[i];

		if (!l->has_min && !l->has_max)
			werr(w, root, "monitor.sensor_limits: '%s' needs min, "
			    "max or both", l->sensor);
		else if (l->has_min && l->has_max && l->min >= l->max)
			werr(w, root, "monitor.sensor_limits: '%s': min %g is "
			    "not below max %g", l->sensor, l->min, l->max);
	}
	if (c->http.enabled) {
		char	*addr = NULL, *cause = NULL;
		int	 port;

		if (conf_parse_listen(c->http.listen, &addr, &port,
		    &cause) != 0) {
			werr(w, root, "http.listen: %s", cause);
			free(cause);
		}
		free(addr);
	}
	check_operations(w, c, root);
}

int
conf_parse_listen(const char *text, char **address, int *port,
    char **cause)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;
	const char	*colon, *errstr, *host;
	char		*addr;
	size_t		 len;
	long long	 p;

	*address = NULL;
	if (text[0] == '[') {
		if ((colon = strstr(text, "]:")) == NULL)
			return set_cause(cause, "'%s': expected [IPv6]:PORT",
			    text);
		host = text + 1;
		len = (size_t)(colon - host);
		colon++;
	} else {
		if ((colon = strrchr(text, ':')) == NULL)
			return set_cause(cause, "'%s': expected ADDRESS:PORT, "
			    "e.g. 127.0.0.1:9180", text);
		host = text;
		len = (size_t)(colon - text);
	}
	addr = xstrndup(host, len);
	if (text[0] == '[' ? inet_pton(AF_INET6, addr, &a6) != 1 :
	    inet_pton(AF_INET, addr, &a4) != 1) {
		set_cause(cause, "'%s': '%s' is not an IP%s address", text,
		    addr, text[0] == '[' ? "v6" : "v4 (IPv6 goes in brackets)");
		free(addr);
		return -1;
	}
	p = strtonum(colon + 1, 0, 65535, &errstr);
	if (errstr != NULL) {
		set_cause(cause, "'%s': port '%s' is %s (0 to 65535)", text,
		    colon + 1, errstr);
		free(addr);
		return -1;
	}
	*address = addr;
	*port = (int)p;
	return 0;
}

static struct conf *
load(const char *name, const char *text, size_t len, const char *base,
    char **errors)
{
	yaml_parser_t	 parser;
	yaml_document_t	 doc;
	yaml_node_t	*root;
	struct walker	 w;
	struct conf	*c = xcalloc(1, sizeof *c);

	memset(&w, 0, sizeof w);
	w.file = name;
	w.base = base != NULL ? xstrdup(base) : NULL;
	buf_init(&w.errors, 64 << 10);
	c->path = xstrdup(name);
	apply_defaults(&w, top_keys, c);
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text,
	    len);
	if (!yaml_parser_load(&parser, &doc)) {
		buf_printf(&w.errors, "%s:%zu:%zu: YAML syntax error: %s%s%s\n",
		    name, parser.problem_mark.line + 1,
		    parser.problem_mark.column + 1,
		    parser.problem != NULL ? parser.problem : "?",
		    parser.context != NULL ? " " : "",
		    parser.context != NULL ? parser.context : "");
		w.nerrors++;
		yaml_parser_delete(&parser);
		goto out;
	}
	w.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (root == NULL)
		;	/* an empty file: every default */
	else if (root->type != YAML_MAPPING_NODE)
		werr(&w, root, "expected a mapping of settings at the top");
	else {
		walk_mapping(&w, top_keys, c, root, "the top level");
		if (w.nerrors == 0)
			check_semantics(&w, c, root);
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
out:
	free(w.base);
	if (w.nerrors > 0) {
		*errors = buf_steal(&w.errors);
		conf_free(c);
		return NULL;
	}
	buf_release(&w.errors);
	if (c->audit.key_file == NULL && c->database != NULL &&
	    !str_has_prefix(c->database, "postgresql://") &&
	    !str_has_prefix(c->database, "postgres://"))
		c->audit.key_file = xasprintf("%s.key", c->database);
	if (c->log_level != NULL) {
		enum log_level	 level;

		if (log_parse_level(c->log_level, &level) == 0)
			log_set_level(level);
	}
	return c;
}

struct conf *
conf_load(const char *path, char **errors)
{
	char		*text, *cause = NULL, *copy, *base;
	size_t		 len;
	struct conf	*c;

	*errors = NULL;
	if ((text = read_file(path, CONF_MAX_SIZE, &len, &cause)) == NULL) {
		*errors = xasprintf("%s\n", cause);
		free(cause);
		return NULL;
	}
	copy = xstrdup(path);
	base = dirname(copy);
	c = load(path, text, len, base, errors);
	free(copy);
	free(text);
	return c;
}

struct conf *
conf_load_string(const char *name, const char *text, char **errors)
{
	*errors = NULL;
	return load(name, text, strlen(text), NULL, errors);
}

const struct conf_ssh_host *
conf_ssh_host_find(const struct conf *c, const char *name)
{
	size_t	 i;

	for (i = 0; i < c->ssh.nhosts; i++) {
		if (strcmp(c->ssh.hosts[i].name, name) == 0)
			return &c->ssh.hosts[i];
	}
	for (i = 0; i < c->ssh.nhosts; i++) {
		if (c->ssh.hosts[i].node != NULL &&
		    strcmp(c->ssh.hosts[i].node, name) == 0)
			return &c->ssh.hosts[i];
	}
	return NULL;
}

/* ---- reload ---- */

static int
str_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

static int
list_differs(char **a, size_t na, char **b, size_t nb)
{
	size_t	 i;

	if (na != nb)
		return 1;
	for (i = 0; i < na; i++) {
		if (str_differs(a[i], b[i]))
			return 1;
	}
	return 0;
}

static int
rooms_differ(const struct conf_room *a, size_t na, const struct conf_room *b,
    size_t nb)
{
	size_t	 i;

	if (na != nb)
		return 1;
	for (i = 0; i < na; i++) {
		if (str_differs(a[i].id, b[i].id) || a[i].alerts != b[i].alerts ||
		    a[i].commands != b[i].commands ||
		    a[i].approvals != b[i].approvals ||
		    str_differs(a[i].site, b[i].site))
			return 1;
	}
	return 0;
}

#define KEEP(field) do {						\
	__typeof__(next->field) t_ = next->field;			\
	next->field = cur->field;					\
	cur->field = t_;						\
} while (0)
#define KEEP_STR(name, field) do {					\
	if (str_differs(next->field, cur->field))			\
		buf_printf(&b, "%s%s", b.len > 0 ? ", " : "", name);	\
	KEEP(field);							\
} while (0)
#define KEEP_NUM(name, field) do {					\
	if (next->field != cur->field)					\
		buf_printf(&b, "%s%s", b.len > 0 ? ", " : "", name);	\
	KEEP(field);							\
} while (0)
#define KEEP_LIST(name, field, count) do {				\
	if (list_differs(next->field, next->count, cur->field,		\
	    cur->count))						\
		buf_printf(&b, "%s%s", b.len > 0 ? ", " : "", name);	\
	KEEP(field);							\
	KEEP(count);							\
} while (0)

char *
conf_keep_fixed(struct conf *next, struct conf *cur)
{
	struct buf	 b;
	int		 proxmox_changed;

	buf_init(&b, 256);
	KEEP_STR("database", database);
	KEEP_STR("schedules", schedules_file);
	KEEP_STR("provisioning", provisioning_file);
	KEEP_STR("audit.key_file", audit.key_file);
	KEEP_STR("instance.name", instance.name);
	KEEP_STR("instance.site", instance.site);
	KEEP_STR("instance.home_site", instance.home_site);

	KEEP_NUM("chat.console.enabled", chat.console.enabled);
	KEEP_STR("chat.console.user", chat.console.user);
	KEEP_NUM("chat.console.alerts", chat.console.alerts);
	KEEP_NUM("chat.rate_limit.per_user", chat.rate_limit.per_user);
	KEEP_NUM("chat.rate_limit.user_burst", chat.rate_limit.user_burst);
	KEEP_NUM("chat.rate_limit.per_room", chat.rate_limit.per_room);
	KEEP_NUM("chat.rate_limit.room_burst", chat.rate_limit.room_burst);
	KEEP_NUM("chat.rate_limit.window", chat.rate_limit.window);

	KEEP_NUM("chat.telegram.enabled", chat.telegram.enabled);
	KEEP_STR("chat.telegram.api_url", chat.telegram.api_url);
	KEEP_STR("chat.telegram.token", chat.telegram.token);
	KEEP_NUM("chat.telegram.poll_timeout", chat.telegram.poll_timeout);

	/* Matrix joins and resolves its rooms at start. */
	KEEP_NUM("chat.matrix.enabled", chat.matrix.enabled);
	KEEP_STR("chat.matrix.homeserver", chat.matrix.homeserver);
	KEEP_STR("chat.matrix.user_id", chat.matrix.user_id);
	KEEP_STR("chat.matrix.token", chat.matrix.token);
	KEEP_NUM("chat.matrix.sync_timeout", chat.matrix.sync_timeout);
	if (rooms_differ(next->chat.matrix.rooms, next->chat.matrix.nrooms,
	    cur->chat.matrix.rooms, cur->chat.matrix.nrooms))
		buf_printf(&b, "%schat.matrix.rooms", b.len > 0 ? ", " : "");
	KEEP(chat.matrix.rooms);
	KEEP(chat.matrix.nrooms);

	KEEP_NUM("chat.discord.enabled", chat.discord.enabled);
	KEEP_STR("chat.discord.api_url", chat.discord.api_url);
	KEEP_STR("chat.discord.token", chat.discord.token);
	KEEP_STR("chat.discord.application_id", chat.discord.application_id);

	/* The Proxmox client and the index's refresher read it at start. */
	proxmox_changed = next->proxmox.enabled != cur->proxmox.enabled ||
	    list_differs(next->proxmox.urls, next->proxmox.nurls,
	    cur->proxmox.urls, cur->proxmox.nurls) ||
	    str_differs(next->proxmox.token_id, cur->proxmox.token_id) ||
	    str_differs(next->proxmox.secret, cur->proxmox.secret) ||
	    str_differs(next->proxmox.ca_file, cur->proxmox.ca_file) ||
	    str_differs(next->proxmox.fingerprint, cur->proxmox.fingerprint) ||
	    next->proxmox.connect_timeout != cur->proxmox.connect_timeout ||
	    next->proxmox.request_timeout != cur->proxmox.request_timeout ||
	    next->proxmox.task_poll != cur->proxmox.task_poll ||
	    next->proxmox.index_max_age != cur->proxmox.index_max_age;
	if (proxmox_changed)
		buf_printf(&b, "%sproxmox", b.len > 0 ? ", " : "");
	KEEP(proxmox);

	KEEP_NUM("workers.count", workers.count);
	KEEP_NUM("monitor.enabled", monitor.enabled);
	KEEP_NUM("monitor.local_sensors", monitor.local_sensors);
	KEEP_LIST("monitor.sensor_hosts", monitor.sensor_hosts,
	    monitor.nsensor_hosts);
	KEEP_LIST("monitor.gpu_hosts", monitor.gpu_hosts, monitor.ngpu_hosts);
	KEEP_NUM("digest.enabled", digest.enabled);
	/* The listener and the heartbeat start with the process. */
	if (next->http.enabled != cur->http.enabled ||
	    str_differs(next->http.listen, cur->http.listen) ||
	    next->http.timeout != cur->http.timeout)
		buf_printf(&b, "%shttp", b.len > 0 ? ", " : "");
	KEEP(http);
	if (next->heartbeat.enabled != cur->heartbeat.enabled ||
	    str_differs(next->heartbeat.url, cur->heartbeat.url) ||
	    str_differs(next->heartbeat.method, cur->heartbeat.method) ||
	    next->heartbeat.interval != cur->heartbeat.interval ||
	    next->heartbeat.timeout != cur->heartbeat.timeout)
		buf_printf(&b, "%sheartbeat", b.len > 0 ? ", " : "");
	KEEP(heartbeat);
	return buf_steal(&b);
}
#undef KEEP
#undef KEEP_STR
#undef KEEP_NUM
#undef KEEP_LIST
