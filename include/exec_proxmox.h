/*
 * exec_proxmox.h - the Proxmox VE REST client: transport (API token, TLS
 * verified or pinned, fail-over between the URLs of one cluster, timeouts
 * and safe retries), guest resolution, tasks and their progress, and the
 * plain-text answers of the read commands.
 *
 * One struct pve may be used by several threads at once. Every failure is
 * one human sentence in *cause (caller frees) and never contains the
 * token secret. Results tell a temporary failure (nothing happened on the
 * server, or it was a read: trying again later is safe) from a permanent
 * one (trying again would fail the same way, or might repeat an action).
 */
#ifndef PVEBOT_EXEC_PROXMOX_H
#define PVEBOT_EXEC_PROXMOX_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct conf_proxmox;
struct pve;

enum pve_status {
	PVE_OK = 0,
	PVE_TEMPORARY = -1,
	PVE_PERMANENT = -2,
	/*
	 * A request that changes something may have reached Proxmox, but
	 * no readable reply came (the connection broke, a proxy answered
	 * 502/503/504, the body was cut or garbage): it may have run. The
	 * caller finds out (a task list) instead of guessing.
	 */
	PVE_MAYBE = -3
};

/* Largest reply body accepted. */
#define PVE_REPLY_MAX	(8 * 1024 * 1024)

struct pve_param {
	const char	*key;
	const char	*value;
};

/*
 * Checks the configuration (at least one https URL, a token id of the form
 * user@realm!name, a secret, a readable ca_file, a well-formed fingerprint)
 * and registers the secret with the logger. NULL and *cause on error.
 */
struct pve	*pve_create(const struct conf_proxmox *, char **cause);
void		 pve_free(struct pve *);

/*
 * One API call. `path` is relative to the base URL ("/nodes/pve1/status")
 * and is percent-encoded here; parameters go to the query string for GET
 * and DELETE, to an x-www-form-urlencoded body for POST and PUT. On PVE_OK
 * *data (if data is not NULL) is the reply's "data" member (a new
 * reference, JSON null when the reply has none). GETs are retried with
 * backoff and fail over between URLs; other methods only when the request
 * provably never reached a server.
 */
int		 pve_request(struct pve *, const char *method,
		    const char *path, const struct pve_param *, size_t nparams,
		    json_t **data, char **cause);

/*
 * Replies from somewhere other than the network, for the fuzz targets and
 * tests that feed every reader of this client hostile replies without
 * TLS. fn gets the method and the encoded path with its query
 * ("/nodes/pve1/tasks?limit=15&source=all") and returns 0 with the HTTP
 * status, the reason phrase (NUL-terminated, at most reasonlen bytes) and
 * the body (a buffer capped at PVE_REPLY_MAX), or -1 for a request that
 * never reached a server. Replies are read exactly as network ones;
 * retries happen at once, without the backoff.
 */
struct buf;
typedef int	(*pve_replay_fn)(void *arg, const char *method,
		    const char *path, long *status, char *reason,
		    size_t reasonlen, struct buf *body);
struct pve	*pve_create_replay(pve_replay_fn, void *arg);

/* The base URL the last successful call went to (for logs and tests). */
char		*pve_current_url(struct pve *);	/* caller frees */

/*
 * Pure helpers of the transport, exposed for tests and the worker.
 */
/* key=value&... with every key and value escaped; caller frees. */
char		*pve_form_encode(const struct pve_param *, size_t nparams);
/* Percent-encodes a path; NULL for a path that is not absolute or that
 * holds "..", control characters or whitespace; caller frees. */
char		*pve_path_encode(const char *path);
/*
 * Turns a reply (HTTP status, the reason phrase of the status line, the
 * body) to `path` into a status and one human line in *cause. For a 2xx
 * reply with a JSON body, returns PVE_OK and sets *data (may be NULL).
 * `idempotent` says whether the request was a read (only then is a
 * garbage or 5xx reply temporary).
 */
int		 pve_reply_parse(long http_status, const char *reason,
		    const char *body, size_t len, const char *path,
		    int idempotent, json_t **data, char **cause);
/*
 * Normalises a pin ("aa:bb..", "AABB..", upper or lower case) to the form
 * Proxmox shows, 32 upper-case hex pairs joined by colons (95 characters
 * plus NUL). -1 if it is not a SHA-256 fingerprint.
 */
int		 pve_fingerprint_normalize(const char *in, char out[96]);
/* Formats a SHA-256 digest the way Proxmox shows it. */
void		 pve_fingerprint_format(const unsigned char digest[32],
		    char out[96]);

/*
 * Guests, from /cluster/resources?type=vm.
 */
struct pve_guest {
	int	  vmid;
	char	 *name;
	char	 *node;
	char	 *type;		/* "qemu" or "lxc" */
	char	 *status;	/* running, stopped, paused (qemu) */
	char	 *lock;		/* NULL when not locked */
	char	 *pool;		/* NULL when in no pool */
	char	**tags;
	size_t	  ntags;
	int	  is_template;
	double	  cpu;		/* fraction of maxcpu, 0..1 */
	int	  maxcpu;
	int64_t	  mem, maxmem, disk, maxdisk, uptime;
};

/*
 * Resolves a VMID or a guest name. Unknown: "no guest 999 in the
 * cluster"; an ambiguous name lists the matches and asks for the VMID.
 */
int		 pve_resolve_guest(struct pve *, const char *vmid_or_name,
		    struct pve_guest *, char **cause);
void		 pve_guest_release(struct pve_guest *);
void		 pve_guest_copy(struct pve_guest *dst,
		    const struct pve_guest *src);
/*
 * A node name as Proxmox allows it (pve-node: one DNS label). Anything
 * else would end up in request paths ("pve1/lxc/200") and in messages.
 */
int		 pve_node_name_ok(const char *);
/*
 * Every guest list read from Proxmox (pve_list_guests, hence every
 * resolve and `guests`) is also handed to `fn` (the guest index), from
 * the thread that read it.
 */
typedef void	(*pve_guest_observer)(void *arg, const struct pve_guest *,
		    size_t n);
void		 pve_set_guest_observer(struct pve *, pve_guest_observer,
		    void *arg);
void		 pve_observe_guests(struct pve *, const struct pve_guest *,
		    size_t n);
/* Every guest of the cluster, sorted by VMID. */
int		 pve_list_guests(struct pve *, struct pve_guest **,
		    size_t *nguests, char **cause);
void		 pve_guests_free(struct pve_guest *, size_t nguests);
/*
 * Fills a pve_guest from one /cluster/resources entry; -1 if not a guest.
 * A node that is not a node name (one DNS label) reads as "?".
 */
int		 pve_guest_from_json(const json_t *, struct pve_guest *);
/* "/nodes/pve1/qemu/101" followed by suffix ("/status/start"); caller
 * frees. */
char		*pve_guest_path(const struct pve_guest *, const char *suffix);
int		 pve_guest_has_tag(const struct pve_guest *, const char *tag);

/*
 * Tasks. A UPID is UPID:node:pid:pstart:starttime:type:id:user: with pid,
 * pstart and starttime in hex.
 */
struct pve_upid {
	char	*node;
	char	*type;		/* vzdump, qmstart, vzstart, qmigrate, ... */
	char	*id;		/* usually the VMID, may be empty */
	char	*user;		/* pvebot@pve!bot */
	int64_t	 pid, pstart, starttime;
};
int		 pve_upid_parse(const char *upid, struct pve_upid *);
void		 pve_upid_release(struct pve_upid *);
char		*pve_upid_node(const char *upid);	/* caller frees */

struct pve_task_status {
	int	 running;
	char	*exitstatus;	/* "OK", "WARNINGS: n" or the error; NULL
				 * while running */
};
int		 pve_task_status(struct pve *, const char *upid,
		    struct pve_task_status *, char **cause);
void		 pve_task_status_release(struct pve_task_status *);
/*
 * Log lines from line `start` (0 = first) on: [{"n":1,"t":"..."}, ...].
 * Proxmox's placeholder for an empty log ({"n":1,"t":"no content"}) is
 * left out: an empty log is an empty array.
 */
int		 pve_task_log(struct pve *, const char *upid, int start,
		    json_t **lines, char **cause);
int		 pve_task_stop(struct pve *, const char *upid, char **cause);
/*
 * Every task on `node` of `type` for `vmid` started by `user` at or after
 * `since` (UNIX time), oldest first; *upids (caller frees with strv_free)
 * may be empty. How a step whose UPID was never stored finds its task.
 */
int		 pve_task_candidates(struct pve *, const char *node,
		    const char *type, int vmid, const char *user,
		    int64_t since, char ***upids, size_t *n, char **cause);
/*
 * The last line of a finished task's log, as Proxmox writes it: "TASK OK",
 * "TASK WARNINGS: 2", "TASK ERROR: ...". NULL with *cause when the log
 * cannot be read or has no such line yet.
 */
char		*pve_task_final_line(struct pve *, const char *upid,
		    char **cause);
/*
 * Newest task on `node` of `type` for `vmid` started by `user` at or after
 * `since` (UNIX time); *upid is NULL when there is none.
 */
int		 pve_task_find(struct pve *, const char *node,
		    const char *type, int vmid, const char *user,
		    int64_t since, char **upid, char **cause);
/*
 * Percentage (0-100) a task log line reports: vzdump's "INFO:  45% (...)"
 * and "INFO: status: 45% (...)", migration and disk mirror/clone lines
 * ("transferred 1.2 GiB of 4.0 GiB", "migration status: active
 * (transferred N, remaining M), total T)"), restores ("progress 45%
 * (read ...)"). -1 when the line has none.
 */
int		 pve_progress_percent(const char *log_line);

/*
 * Read commands: plain text for chat, short lines that fit a phone.
 * Caller frees; NULL and *cause on error.
 */
char	*pve_format_status(struct pve *, char **cause);
char	*pve_format_quorum(struct pve *, char **cause);
char	*pve_format_storage(struct pve *, char **cause);
char	*pve_format_nodes(struct pve *, char **cause);
char	*pve_format_guests(struct pve *, char **cause);
char	*pve_format_guest(struct pve *, const char *ref, char **cause);
char	*pve_format_snapshots(struct pve *, const char *ref, char **cause);
char	*pve_format_backups(struct pve *, const char *ref, char **cause);
char	*pve_format_tasks(struct pve *, const char *node_or_null,
	    char **cause);
char	*pve_format_task(struct pve *, const char *upid, char **cause);

/* Formatting helpers shared with the monitor and digest. */
char	*pve_format_bytes(int64_t bytes, char *buf, size_t len); /* "4.0 GiB" */

#endif
