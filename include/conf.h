/*
 * conf.h - bot.conf (YAML) turned into one immutable struct.
 *
 * Keys are declared once, in the tables of conf.c (name, type, range,
 * default, help); one walker validates the YAML against them. Every error
 * names file:line:column and all errors of a file are reported. Secrets
 * are read from `NAME_file` (see conf_read_secret_file) or `NAME_env`, never
 * inline, and are registered with the logger so they never reach a log.
 */
#ifndef PVEBOT_CONF_H
#define PVEBOT_CONF_H

#include <stddef.h>
#include <stdint.h>

struct conf_room {
	char	*id;		/* chat id, room id or channel id */
	int	 alerts;	/* alerts and digests are posted here */
	int	 commands;	/* commands are served here (default yes) */
	int	 approvals;	/* approval requests from private chats go
				 * here (default: the alert rooms) */
	char	*site;		/* commands act on this site's cluster
				 * (several instances); NULL: the leader's */
};

struct conf_console {
	int	 enabled;
	char	*user;		/* initial pretend user, e.g. "bob" */
	int	 alerts;
};

struct conf_telegram {
	int		  enabled;
	char		 *api_url;	/* default https://api.telegram.org */
	char		 *token;	/* secret */
	struct conf_room *chats;
	size_t		  nchats;
	char		**users;	/* user ids served in private chats */
	size_t		  nusers;
	int64_t		  poll_timeout;	/* seconds, getUpdates timeout */
};

struct conf_matrix {
	int		  enabled;
	char		 *homeserver;	/* https://matrix.example.org */
	char		 *user_id;	/* @pvebot:example.org */
	char		 *token;	/* secret */
	struct conf_room *rooms;	/* room ids (!x:hs) or aliases (#x:hs) */
	size_t		  nrooms;
	int64_t		  sync_timeout;	/* seconds */
};

struct conf_discord {
	int		  enabled;
	char		 *api_url;	/* default https://discord.com/api/v10 */
	char		 *token;	/* secret */
	char		 *application_id;
	char		**guilds;	/* guild ids for slash commands */
	size_t		  nguilds;
	struct conf_room *channels;	/* channel ids */
	size_t		  nchannels;
	char		**users;	/* user ids served in DMs */
	size_t		  nusers;
};

/* Token buckets the router keeps (ratelimit.h). */
struct conf_rate_limit {
	int	 per_user;	/* commands per window for one person */
	int	 user_burst;	/* at once */
	int	 per_room;	/* commands per window in one room */
	int	 room_burst;
	int64_t	 window;	/* seconds */
};

struct conf_chat {
	int64_t			 max_command_age;	/* seconds */
	struct conf_rate_limit	 rate_limit;
	char			*bot_name;	/* for /cmd@bot_name */
	struct conf_console	 console;
	struct conf_telegram	 telegram;
	struct conf_matrix	 matrix;
	struct conf_discord	 discord;
};

struct conf_proxmox {
	int	  enabled;
	char	**urls;		/* https://host:8006/api2/json, in order */
	size_t	  nurls;
	char	 *token_id;	/* user@realm!tokenid */
	char	 *secret;	/* secret */
	char	 *ca_file;
	char	 *fingerprint;	/* AA:BB:... SHA-256 pin */
	int64_t	  connect_timeout;	/* seconds */
	int64_t	  request_timeout;	/* seconds */
	int64_t	  task_poll;		/* milliseconds between status polls */
	int64_t	  index_max_age;	/* seconds: an older guest index is
					 * not trusted for lookups */
};

struct conf_ssh_host {
	char	*name;		/* the name commands use */
	char	*address;
	int	 port;
	char	*user;
	char	*key_file;
	char	*known_hosts;
	char	*node;		/* Proxmox node name that maps here */
	int	 sudo;		/* root commands run with "sudo -n" */
};

struct conf_ssh {
	char			*ssh_path;	/* default /usr/bin/ssh */
	int64_t			 connect_timeout;
	int64_t			 timeout;	/* default command timeout */
	int64_t			 output_cap;	/* bytes */
	struct conf_ssh_host	*hosts;
	size_t			 nhosts;
};

/* A storage's default retention for `prune` (0: option not used). */
struct conf_retention {
	char	*storage;
	int	 keep_last, keep_hourly, keep_daily, keep_weekly;
	int	 keep_monthly, keep_yearly;
};

struct conf_workers {
	int	 count;
	int	 heavy_per_node;	/* backup, migrate, clone */
	int64_t	 edit_interval;		/* seconds between progress edits */
	int	 backup_margin_gib;	/* free space a backup must leave */
	struct conf_retention *retention;
	size_t	 nretention;
};

struct conf_override {
	char	*target;	/* "101", "node:pve1", "storage:local" */
	double	 threshold;
	double	 clear;
	int	 has_threshold;
	int	 has_clear;
	int	 exclude;
};

struct conf_rule {
	char			*name;
	char			*metric;	/* node.cpu, guest.memory, ... */
	char			**select;	/* "101", "100-199", "tag:db" */
	size_t			 nselect;
	char			*op;		/* ">" or "<" */
	double			 threshold;
	double			 clear;
	int			 has_threshold;
	int			 has_clear;
	int64_t			 for_s;
	int64_t			 repeat;	/* 0 = never */
	char			*severity;	/* info, warning, critical */
	struct conf_override	*overrides;
	size_t			 noverrides;
};

struct conf_window {
	char	*days;		/* "mon-fri", "sat,sun", "*" */
	char	*start;		/* "HH:MM" */
	char	*end;
	char	*severity;	/* quiet hours: severities held back */
	char	*room;		/* quiet hours: room id, NULL = all */
};

/* A per-input limit for voltages and currents, replacing the chip's. */
struct conf_sensor_limit {
	char	*sensor;	/* "chip/label" glob */
	double	 min, max;
	int	 has_min, has_max;
};

/* Kinds read on their own schedule; interval 0 turns one off. */
struct conf_backups {
	int64_t	 interval;
	char	**ignore_tags;
	size_t	 nignore_tags;
	int64_t	 failed_window;
};

struct conf_disks {
	int64_t	 interval;
	int64_t	 trend_window;
};

struct conf_poll {
	int64_t	 interval;
};

struct conf_cluster {
	int64_t	 forget_after;
};

struct conf_monitor {
	int			 enabled;
	int64_t			 interval;
	char			*timezone;
	struct conf_rule	*rules;
	size_t			 nrules;
	int64_t			 no_backup_days;
	int64_t			 max_silence;	/* seconds */
	int			 flap_count;
	int64_t			 flap_window;
	int			 local_sensors;
	char			**sensor_hosts;	/* ssh host names */
	size_t			 nsensor_hosts;
	char			**gpu_hosts;	/* ssh hosts read with nvidia-smi */
	size_t			 ngpu_hosts;
	char			**sensor_ignore;	/* "chip/label" globs */
	size_t			 nsensor_ignore;
	double			 temp_max_sane;
	struct conf_window	*backup_windows;
	size_t			 nbackup_windows;
	struct conf_window	*quiet_hours;
	size_t			 nquiet_hours;
	int			 stale_after;	/* cycles */
	struct conf_backups	 backups;
	struct conf_disks	 disks;
	struct conf_poll	 zfs, ceph, replication, certificates, updates;
	struct conf_cluster	 cluster;
	struct conf_sensor_limit *sensor_limits;
	size_t			 nsensor_limits;
};

struct conf_digest {
	int	 enabled;
	char	*time;		/* "HH:MM" local */
	char	*timezone;
};

struct conf_audit {
	char	*key_file;	/* HMAC key; default: the database + ".key" */
};

/* This process among the instances sharing a PostgreSQL database. */
struct conf_instance {
	char	*name;		/* default: the host name */
	char	*site;
	char	*home_site;	/* of rooms without a site; NULL: site */
};

/* A route of the HTTP endpoint: on or off, and the token it wants. */
struct conf_http_route {
	int	 enabled;
	char	*token;		/* secret: "Authorization: Bearer TOKEN" */
	int64_t	 max_body;	/* bytes, requests with a body */
};

/* The webhook Alertmanager posts to, and its API for silences. */
struct conf_http_alertmanager {
	int	 enabled;
	char	*token;		/* secret: what the webhook presents */
	int64_t	 max_body;
	char	*url;		/* http://alertmanager:9093, for silences */
	char	*username;	/* basic auth towards the API */
	char	*password;	/* secret */
	char	*api_token;	/* secret: bearer token towards the API */
	char	*ca_file;
	int64_t	 timeout;	/* seconds, one API request */
};

struct conf_http_tls {
	int	 enabled;
	char	*cert_file;	/* PEM certificate (chain) */
	char	*key;		/* secret: the PEM private key (key_file) */
};

/* The listener (src/http/): webhooks in, /metrics, /healthz. */
struct conf_http {
	int				 enabled;
	char				*listen;	/* "127.0.0.1:9180" */
	int64_t				 timeout;	/* a request, whole */
	struct conf_http_tls		 tls;
	struct conf_http_route		 proxmox;
	struct conf_http_alertmanager	 alertmanager;
	struct conf_http_route		 metrics;
	struct conf_http_route		 healthz;
};

/* The dead-man ping: sent while pvebot is healthy (src/http/). */
struct conf_heartbeat {
	int	 enabled;
	char	*url;		/* secret: the push URL holds its token */
	char	*method;	/* GET or POST */
	int64_t	 interval;	/* seconds */
	int64_t	 timeout;	/* seconds */
};

/* One node pvebot shuts down when it has been idle (operations). */
struct conf_idle_node {
	char	*node;
	int64_t	 grace;		/* seconds idle before the request */
	int64_t	 flap_window;	/* seconds: at most one request within */
};

/* Guests expected to run: an alert when one is stopped. */
struct conf_expected {
	int	 enabled;
	int	 onboot;	/* guests with onboot=1 */
	char	*tag;		/* and guests with this tag; NULL: none */
};

/* Clean-up of the snapshots pvebot made itself. */
struct conf_snap_retention {
	int	 enabled;
	char	*prefix;	/* only names that start with it: "auto-" */
	int64_t	 max_age;	/* seconds; 0: no age limit */
	int	 max_count;	/* per guest; 0: no count limit */
	int64_t	 interval;	/* seconds between clean-ups */
};

/*
 * Operations pvebot starts on its own (operations: in bot.conf): idle
 * node shutdown, expected-running guests, snapshot retention. Requests
 * are sent as idle:NODE and retention:snapshots and judged by the
 * policy like any person; their messages go to `room`.
 */
struct conf_operations {
	char				*room;		/* CONNECTOR:ROOM */
	struct conf_idle_node		*idle;
	size_t				 nidle;
	struct conf_expected		 expected;
	struct conf_snap_retention	 snapshots;
};

struct conf {
	char			*path;
	char			*database;	/* SQLite file or postgresql:// URL */
	char			*database_password;
	struct conf_instance	 instance;
	char			*commands_dir;
	char			*local_commands_dir;	/* NULL: none */
	char			*policies_dir;
	char			*schedules_file;	/* NULL: none */
	char			*provisioning_file;	/* NULL: none (prov.h) */
	char			*inventory_dir;		/* NULL: none */
	char			*log_level;
	struct conf_chat	 chat;
	struct conf_proxmox	 proxmox;
	struct conf_ssh		 ssh;
	struct conf_workers	 workers;
	struct conf_monitor	 monitor;
	struct conf_digest	 digest;
	struct conf_audit	 audit;
	struct conf_http	 http;
	struct conf_heartbeat	 heartbeat;
	struct conf_operations	 operations;
};

/*
 * Loads and validates a file (or an in-memory text, `name` being what
 * errors call it). On failure returns NULL and sets *errors to every
 * problem, one "file:line:column: message" per line; caller frees.
 */
struct conf	*conf_load(const char *path, char **errors);
struct conf	*conf_load_string(const char *name, const char *text,
		    char **errors);
void		 conf_free(struct conf *);

/*
 * A reload: the settings of `next` that only take effect at start (the
 * database, platform credentials, Matrix rooms, the Proxmox endpoint,
 * rate limits, worker count, sensor hosts, ...) are swapped with those
 * of `cur`, so `next` goes on with what is running (and `cur` holds the
 * new values of those settings: after a reload, read the app's current
 * conf, never one kept from before). Returns the names of those that
 * differed, comma-separated ("" when none; caller frees).
 */
char		*conf_keep_fixed(struct conf *next, struct conf *cur);

/* Finds the SSH host for a host name or a Proxmox node name. */
const struct conf_ssh_host *conf_ssh_host_find(const struct conf *,
		    const char *name);

/*
 * Reads a secret file the way OpenSSH reads a key, only stricter: refused
 * when it is a symbolic link or not a regular file (a FIFO is looked at,
 * never waited on), when it belongs to someone other than the running
 * user or root, when group or others may read or write it, and when a
 * folder on its way from / may be written by anyone but its owner (root
 * or the running user; sticky folders such as /tmp excepted). Returns
 * the trimmed content; caller frees.
 */
char		*conf_read_secret_file(const char *path, char **cause);

/*
 * "127.0.0.1:9180", "[::1]:9180" or "0.0.0.0:9180" split into an address
 * literal (caller frees) and a port (0 picks a free one). -1 with *cause
 * when it is not an IP literal and a port.
 */
int		 conf_parse_listen(const char *, char **address, int *port,
		    char **cause);

#endif
