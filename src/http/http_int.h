/*
 * http_int.h - what the files of src/http/ share behind include/http.h.
 * Not for use outside src/http/ (the unit tests include it to reach the
 * parsers, which are pure).
 */
#ifndef PVEBOT_HTTP_INT_H
#define PVEBOT_HTTP_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "chat.h"
#include "http.h"
#include "httpd.h"
#include "util.h"

struct app;
struct conf;
struct store;

/* How long a handler's write waits for a busy database before 503. */
#define HTTP_DB_WAIT_MS		2000
/* The router counts as stalled when its loop is older than this. */
#define HTTP_ROUTER_MAX_AGE_MS	5000
/* Refused requests logged per minute; the rest are summed up. */
#define HTTP_REFUSED_LOG_MAX	20
/* Audit rows for wrong tokens per minute, from all peers together. */
#define HTTP_REFUSED_AUDIT_MAX	10

struct http {
	struct app		*app;	/* its conf: the reloaded one */
	struct httpd		*httpd;
	char			*address;
	int			 port;
	char			*cert_pem;	/* read from tls.cert_file */
	int			 started;

	/* One SQLite connection per listener thread. */
	pthread_key_t		 store_key;
	int			 key_made;

	/* Refused requests: logged, a burst summed up. */
	pthread_mutex_t		 refused_lock;
	int64_t			 refused_window;	/* now_ms() it began */
	int			 refused_logged;
	int			 refused_quiet;		/* not logged in it */
	int			 refused_audited;

	/* The health check's last answer, reused for a second. */
	pthread_mutex_t		 health_lock;
	int64_t			 health_at;
	int			 health_ok;
	char			 health_reason[256];

	/* The endpoint's thread: silences asked of Alertmanager. */
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	int			 stopping;
	int			 kicks;
	pthread_t		 silencer;
	int			 silencing;
	/* The dead-man heartbeat. */
	pthread_t		 beater;
	int			 beating;
};

/* http.c */
/* The calling thread's SQLite connection (opened on first use). */
struct store	*http_store(struct http *, char **cause);
/* Logs (a burst summed up) and counts a refused request. */
void		 http_refused(struct http *, const char *peer,
		    const char *route, int status, const char *why);
/* Only logs it: a route's handler, whose status the table counts. */
void		 http_refused_log(struct http *, const char *peer,
		    const char *route, int status, const char *why);
/* A JSON reply {"error": why} or {"ok": true, ...}. */
void		 http_reply_error(struct httpd_resp *, int status,
		    const char *why);
/* The running endpoint, for the router's buttons (NULL when none). */
struct http	*http_running(void);
/* Wakes the endpoint's thread: a silence request was written. */
void		 http_kick(struct http *);

/* hook_event.c: what both webhooks post, and their buttons */
/* "🚨" "⚠️" "ℹ️" for critical, warning, info. */
const char	*hook_severity_icon(const char *severity);
/* Posts msg to every alert room the event may go to; refs (a JSON
 * array, caller decrefs) names the outbox rows. Inside the caller's
 * transaction; the number of rooms, -1 when a write failed. */
int		 hook_post(struct app *, struct store *, const char *severity,
		    int quiet_matters, const struct chat_msg *, json_t **refs);
/* New content for every message in refs. */
int		 hook_edit(struct store *, const char *refs,
		    const struct chat_msg *);
/* The Ack and Silence buttons for "e12" or "m3" (data sized 4x48). */
void		 hook_buttons(struct chat_msg *, struct chat_button b[4],
		    char data[4][48], const char *id, int with_silence);
/* Appends a line to a notes column's text (at most a few kept). */
char		*hook_note_add(const char *notes, const char *line);
/*
 * The chat message of Proxmox notification `id`: title, summary, the
 * excerpt, the notes, and the buttons while it is open (state "alert").
 * *title and *text belong to msg; the caller frees them.
 */
void		 hook_event_render(int64_t id, const char *severity,
		    const char *state, const char *kind, const char *hostname,
		    const char *summary, const char *details,
		    const char *notes, struct chat_msg *msg, char **title,
		    char **text, struct chat_button b[4], char data[4][48]);
/* "rule=proxmox.vzdump,target=pve1/backup-daily": what Silence sets. */
char		*hook_event_matcher(const char *type, const char *hostname,
		    const char *job_id);

/* hook_proxmox.c */
/* A notification as Proxmox sends it with the documented template. */
struct hook_pve {
	/* As sent. */
	char	*type;		/* fields.type */
	char	*hostname;	/* fields.hostname */
	char	*job_id;	/* fields.job-id, NULL for "Run now" */
	char	*datastore;	/* fields.datastore (PBS) */
	char	*title;
	char	*message;
	char	*sender_severity;
	char	*fields;	/* the fields object, compact JSON */
	int64_t	 ts;
	/* Made of it. */
	char	*severity;	/* info, warning, critical */
	char	*kind;		/* "backup failed", "disk problem", ... */
	char	*summary;	/* "pve1: backup failed for 101 (db)" */
	char	*details;	/* the excerpt chat shows */
	int	 success;	/* a job that went well: closes failures */
	int	 alert;		/* an alert now, not a digest line */
	char	 dedup[65];	/* sha256 hex */
};
/* Parses and classifies a body; -1 with *cause saying what is wrong. */
int		 hook_proxmox_parse(const char *body, size_t len,
		    struct hook_pve *, char **cause);
void		 hook_proxmox_release(struct hook_pve *);
void		 hook_proxmox_handle(struct http *, const struct httpd_req *,
		    struct httpd_resp *);

/* hook_alertmanager.c */
/* pvebot's severity of an alert, from its "severity" label. */
const char	*hook_alertmanager_severity(const json_t *labels);
void		 hook_alertmanager_handle(struct http *,
		    const struct httpd_req *, struct httpd_resp *);
/* The endpoint's thread: POST /api/v2/silences for the requests. */
void		*hook_alertmanager_silencer(void *http);
/* The postableSilence body for one alert (caller frees). */
char		*hook_alertmanager_silence_body(const json_t *labels,
		    const char *created_by, const char *comment,
		    int64_t starts_at, int64_t ends_at);
/* The buttons of an Alertmanager group: "ack:m3", "sil:m3:4h". */
char		*hook_alertmanager_button(struct store *, const char *user,
		    int64_t group, const char *duration, int64_t now);

/* http_metrics.c */
void		 http_metrics_handle(struct http *, const struct httpd_req *,
		    struct httpd_resp *);

/* health.c */
/* 1 healthy; 0 with a short reason. s: the caller's connection. */
int		 health_check(struct http *, struct store *, char *reason,
		    size_t len);
void		 health_handle(struct http *, const struct httpd_req *,
		    struct httpd_resp *);

/* heartbeat.c */
void		*heartbeat_main(void *http);

/* Outgoing calls (Alertmanager, the heartbeat) go through net_http.h;
 * their replies are capped at this. */
#define HTTP_CALL_MAX_REPLY	(64 * 1024)

#endif
