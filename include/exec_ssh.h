/*
 * exec_ssh.h - the SSH runner and the parsers for what SSH-backed
 * commands print.
 *
 * The runner starts the system OpenSSH client with posix_spawn and an
 * argv (never a local shell), only towards hosts named in bot.conf, with
 * strict host key checking against the configured known_hosts file. The
 * remote command is an argv whose elements are single-quoted one by one,
 * so every element reaches the remote program as one literal argument.
 * Output is read line by line as it arrives, capped, and a timeout kills
 * the whole local process group.
 *
 * The parsers have no side effects: text in, structs out.
 */
#ifndef PVEBOT_EXEC_SSH_H
#define PVEBOT_EXEC_SSH_H

#include <stddef.h>
#include <stdint.h>

struct conf_ssh;
struct conf_ssh_host;

/* Why a run failed; callers tell temporary from permanent failures. */
enum ssh_error {
	SSH_OK = 0,
	SSH_ERR_CONFIG,		/* unknown host, bad argv, bad config entry */
	SSH_ERR_KEY,		/* key file missing or too open */
	SSH_ERR_HOSTKEY_CHANGED,
	SSH_ERR_HOSTKEY_UNKNOWN,
	SSH_ERR_AUTH,		/* Permission denied */
	SSH_ERR_UNREACHABLE,	/* refused, timed out, no route, no DNS */
	SSH_ERR_TIMEOUT,	/* the command ran too long and was killed */
	SSH_ERR_SPAWN,		/* the ssh client could not be started */
	SSH_ERR_SSH		/* another error reported by ssh itself */
};

/* Worth retrying later (node down, slow)? Config and key problems are not. */
int	ssh_error_temporary(enum ssh_error);

struct ssh_result {
	int		 exit_status;	/* remote exit status, -1 if none */
	int		 timed_out;
	int		 truncated;	/* stdout hit the cap; note appended */
	enum ssh_error	 error;
	char		*out;		/* stdout, NUL-terminated, never NULL */
	char		*err;		/* stderr, capped, never NULL */
	int64_t		 elapsed_ms;
};

/* Called with each stdout line (without its newline) as it arrives. */
typedef void (*ssh_line_fn)(void *arg, const char *line);

#define SSH_DEFAULT_PATH	"/usr/bin/ssh"
#define SSH_DEFAULT_CAP		(256 * 1024)
#define SSH_DEFAULT_TIMEOUT	300
#define SSH_DEFAULT_CONNECT	10

/*
 * Runs argv (argc elements, constant parts and already-validated values)
 * on the host named host_or_node (a host name or a Proxmox node name from
 * conf->hosts). timeout_s <= 0 means conf->timeout. line_fn may be NULL.
 *
 * Returns 0 when the remote command ran to its end (res->exit_status
 * says how it went, non-zero included). Returns -1 with a one-line *cause
 * (caller frees) and res->error set when it could not run or was killed
 * by the timeout; res then holds what output there was. res is always
 * filled and must be released with ssh_result_release().
 */
int	ssh_run(const struct conf_ssh *, const char *host_or_node,
	    const char *const *argv, size_t argc, int64_t timeout_s,
	    ssh_line_fn line_fn, void *arg, struct ssh_result *res,
	    char **cause);
void	ssh_result_release(struct ssh_result *);

/* The host entry for a host name or a node name; NULL if none. */
const struct conf_ssh_host *ssh_host_lookup(const struct conf_ssh *,
	    const char *host_or_node);

/*
 * Checks a key file the way OpenSSH would before using it: it exists, is
 * a regular file, and neither group nor others may access it.
 */
int	ssh_check_key_file(const char *host, const char *path, char **cause);

/* One word quoted for a POSIX shell: 'it'\''s'. Caller frees. */
char	*ssh_quote(const char *arg);
/* The words quoted one by one and joined with spaces. Caller frees. */
char	*ssh_remote_command(const char *const *argv, size_t argc);
/* The full local argv for ssh (NULL-terminated); ssh_argv_free() it. */
char	**ssh_build_argv(const struct conf_ssh *, const struct conf_ssh_host *,
	    const char *const *argv, size_t argc);
void	ssh_argv_free(char **);

/* "256 KiB", "1 MiB", "1000 bytes" into buf; returns buf. */
char	*ssh_format_size(int64_t bytes, char *buf, size_t len);

/* --- pvecm status --- */

struct pvecm_member {
	char	*nodeid;	/* "0x00000001" */
	int	 votes;
	char	*name;		/* address or name as printed */
	int	 local;
};

struct pvecm_status {
	char			*cluster;	/* NULL if not printed */
	int			 quorate;
	int			 nodes;
	int			 expected_votes;
	int			 total_votes;
	int			 quorum;
	struct pvecm_member	*members;
	size_t			 nmembers;
};

int	pvecm_parse(const char *text, struct pvecm_status *, char **cause);
void	pvecm_release(struct pvecm_status *);
/* "homelab: quorate, 3/3 votes (quorum 2), 3 nodes"; caller frees. */
char	*pvecm_summary(const struct pvecm_status *);

/* --- apt list --upgradable --- */

struct apt_update {
	char	*name;		/* libssl3 */
	char	*suite;		/* stable-security */
	char	*version;	/* new version */
	char	*from;		/* installed version, NULL if not printed */
};

struct apt_updates {
	struct apt_update	*v;
	size_t			 n;
};

int	apt_parse(const char *text, struct apt_updates *, char **cause);
void	apt_release(struct apt_updates *);
/* "3 updates: a, b, c" (names up to max_names, then "and N more"). */
char	*apt_summary(const struct apt_updates *, size_t max_names);

/* --- nvidia-smi --query-gpu=name,temperature.gpu,utilization.gpu,
 *     memory.used,memory.total --format=csv,noheader,nounits --- */

struct gpu_info {
	char	*name;
	int	 temp_c;	/* -1 when not reported ([N/A]) */
	int	 util_pct;	/* -1 when not reported */
	int64_t	 mem_used_mib;	/* -1 when not reported */
	int64_t	 mem_total_mib;	/* -1 when not reported */
};

struct gpu_list {
	struct gpu_info	*v;
	size_t		 n;
};

int	gpu_parse(const char *text, struct gpu_list *, char **cause);
void	gpu_release(struct gpu_list *);
/* One line per GPU: "GPU0 NVIDIA GeForce RTX 3060: 45 C, 3% busy,
 * 1024/12288 MiB". Caller frees. */
char	*gpu_format(const struct gpu_list *);

/* --- lvs --reportformat json -o lv_name,origin,lv_time,lv_size --- */

struct lv_snapshot {
	char	*name;
	char	*origin;
	char	*size;		/* as printed: "8.00g" */
	int64_t	 time;		/* UNIX time of creation */
};

struct lv_snapshots {
	struct lv_snapshot	*v;
	size_t			 n;
};

/* Keeps only snapshots (LVs with an origin), oldest first. */
int	lvs_parse(const char *json, struct lv_snapshots *, char **cause);
void	lvs_release(struct lv_snapshots *);
/* "pre-upgrade of root, 8.00g, 2026-11-20 03:00 UTC" per line. */
char	*lvs_format(const struct lv_snapshots *);

/*
 * Retention: which snapshots to remove so that at most max_count remain
 * (0 = no limit) and none is older than max_age_s seconds at `now`
 * (0 = no limit). Snapshots named safety-* are never removed and do not
 * count towards max_count. Fills remove[] (room for n indices, oldest
 * first) and returns how many.
 */
size_t	lvs_retention(const struct lv_snapshots *, size_t max_count,
	    int64_t max_age_s, int64_t now, size_t *remove);

/* --- systemctl status --- */

/*
 * "pveproxy.service: active (running) since ..." from the Active: line of
 * `systemctl status`; NULL when there is none. Caller frees.
 */
char	*systemctl_summary(const char *unit, const char *text);

/* --- output parsers by name (the `parser:` of an SSH command) --- */

/*
 * The one table of SSH output parsers: the catalogue check rejects a
 * parser: name it does not hold, and the worker formats output through
 * it. `format` turns a command's standard output into chat text, or
 * returns NULL with *cause.
 */
struct ssh_output {
	const char	*name;
	char		*(*format)(const char *out, char **cause);
};
/* The parser named so, or NULL. */
const struct ssh_output *ssh_output_find(const char *name);
/* Number of parsers and the i-th (for lists and suggestions). */
size_t	ssh_output_count(void);
const struct ssh_output *ssh_output_get(size_t);
/* Output through the named parser (NULL name: "text"); caller frees. */
char	*ssh_output_format(const char *name, const char *out, char **cause);

#endif
