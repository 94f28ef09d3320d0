/*
 * http.h - pvebot's HTTP endpoint (src/http/): one listener on
 * libwebsockets (include/httpd.h) with a small route table:
 *
 *   POST /hooks/proxmox       Proxmox VE and Backup Server notifications
 *   POST /hooks/alertmanager  Alertmanager's webhook (version 4)
 *   GET  /metrics             Prometheus text format
 *   GET  /healthz             200 "ok", or 503 and a short reason
 *
 * and the dead-man heartbeat, a ping to a configured URL sent only while
 * /healthz would answer 200.
 *
 * What it guarantees:
 * - A webhook is stored in SQLite, with the chat messages it causes
 *   written to the outbox in the same transaction, before the sender
 *   gets its 2xx; when the database refuses the write the answer is 503
 *   and nothing of it remains. A Proxmox notification seen before (same
 *   type, host, job, time and title) is answered 200 and dropped.
 * - Routes with a token want "Authorization: Bearer TOKEN", compared in
 *   constant time; a wrong or missing token gets 401, a log line and an
 *   audit row. Bodies are capped per route (413), every refused request
 *   is logged (a burst is summarised) and counted.
 * - Handlers run on the listener's threads, each with its own SQLite
 *   connection. The router never does network I/O: a Silence button on
 *   an Alertmanager alert only records the request; this part's own
 *   thread sends POST /api/v2/silences and edits the message with the
 *   silence's id (retrying while Alertmanager is unreachable).
 */
#ifndef PVEBOT_HTTP_H
#define PVEBOT_HTTP_H

#include <stdint.h>

struct app;
struct buf;
struct store;
struct http;

/*
 * Built from app->conf; with neither http nor heartbeat configured it
 * does nothing when started. NULL with *cause on a setup error (the
 * certificate cannot be read).
 */
struct http	*http_create(struct app *, char **cause);
/* Listens and starts the threads; -1 with *cause (address in use). */
int		 http_start(struct http *, char **cause);
/* Stops listening, finishes requests in flight, joins the threads. */
void		 http_stop(struct http *);
void		 http_free(struct http *);
/* The port listened on (the configured one, or the one port 0 got). */
int		 http_port(const struct http *);

/*
 * Buttons of webhook alerts, run by the router inside its transaction
 * (through monitor_button): "ack:e12", "sil:e12:4h" on a Proxmox
 * notification, "ack:m3", "sil:m3:4h" on an Alertmanager group. Returns
 * 1 when `data` is such a button (*answer set, caller frees), else 0.
 */
int		 http_button(struct store *, const char *user,
		    const char *data, int64_t now, char **answer);

/*
 * The daily digest's section on webhook notifications of the 24 hours
 * before `now`: what became a digest line rather than an alert, and
 * how many alerts there were. Nothing when there were none.
 */
void		 http_digest(struct buf *, struct store *, int64_t now);

#endif
