/*
 * t_env.h - one pvebot end to end, as a user meets it: `pvebot run` (the
 * real binary, t_pvebot()) as a child process with its own folder,
 * database and config, the Proxmox simulator and a fake Telegram in this
 * process on loopback, and the console on a pipe. Tests type on the
 * console and in the fake, and read what came back, what Proxmox was
 * asked and what the database holds.
 *
 * People (policies/users.yaml, written per test):
 *   alice telegram:1001 console:alice admin
 *   bob   telegram:1002 console:bob   operator
 *   carol telegram:1003 console:carol viewer
 * Telegram group -100200 is served; 1001 and 1002 may use private chats.
 */
#ifndef PVEBOT_T_ENV_H
#define PVEBOT_T_ENV_H

#include <stdint.h>

#include <jansson.h>

#include "fakes/fake_telegram.h"
#include "t.h"

#define T_TG_TOKEN	"555000111:AAFenvSECRETtokenVALUE_abcdefghijk"
#define T_TG_BOT	"pvebot_test"
#define T_TG_BOT_ID	900002
#define T_GROUP		-100200
#define T_ALICE		1001
#define T_BOB		1002
#define T_CAROL		1003

struct t_env_opts {
	int		 telegram;	/* Telegram enabled */
	int		 tg_port;	/* with no fake yet: its future port */
	int		 no_fake;	/* do not start the fake now */
	int		 console;	/* the console on a pipe (else EOF) */
	const char	*console_user;	/* NULL: bob */
	int		 task_ms;	/* simulator task duration; 0: 400 */
	const char	*extra;		/* YAML appended to bot.conf */
};

struct t_env {
	struct sim		*sim;
	struct fake_telegram	*tg;
	struct t_proc		 proc;
	int			 running;
	int			 console;
	int			 tg_port;
	char			*conf_path;
	char			*db_path;
	size_t			 out_seen;	/* console output read so far */
};

struct t_env	*t_env_new(const struct t_env_opts *);
/* Starts pvebot; waits until `ready` is in its log (NULL: started). */
int		 t_env_start(struct t_env *, const char *ready, int timeout_ms);
/* Stops pvebot with sig (SIGTERM, SIGKILL); its exit status. */
int		 t_env_stop(struct t_env *, int sig);
/* Stops everything; on failure prints the fake's calls and the log. */
void		 t_env_free(struct t_env *);
/* Starts the fake Telegram on the configured port (opts.no_fake). */
int		 t_env_start_fake(struct t_env *);

/* Types a line on the console (a newline is added). */
void		 t_env_type(struct t_env *, const char *line);
/*
 * Waits until pvebot's output, from byte `from` on, contains needle;
 * looks every millisecond. Returns now_ms() when seen, -1 on timeout.
 * *end (may be NULL) gets the byte after the match.
 */
int64_t		 t_env_wait_output(struct t_env *, size_t from,
		    const char *needle, int timeout_ms, size_t *end);
/* Bytes of output so far. */
size_t		 t_env_output_size(struct t_env *);

/* Waits for a bot message in chat containing needle: its id or -1. */
long long	 t_env_wait_bot(struct t_env *, long long chat,
		    const char *needle, int timeout_ms);
/*
 * The first successful sendMessage/editMessageText to chat whose text
 * contains needle: when the fake received it (now_ms()), -1 if none.
 */
int64_t		 t_env_sent_at(struct t_env *, long long chat,
		    const char *method, const char *needle);

/* A query on the database that returns one integer; -1 on error. */
/*
 * Up to `max` integers from the first column of a query on the SQLite
 * file `path` (read-only; a1, a2: text bound to ?1, ?2 when not NULL):
 * the number read, or -1 when the file or the query fails.
 */
int		 t_db_ints(const char *path, const char *sql, const char *a1,
		    const char *a2, int64_t *out, size_t max);
int64_t		 t_env_db_int(struct t_env *, const char *sql,
		    const char *arg);
/* Jobs whose command is `command`. */
int64_t		 t_env_jobs(struct t_env *, const char *command);

/* Applies a simulator fault (JSON as for POST /_sim/fault); 0 on success. */
int		 t_env_sim_fault(struct t_env *, const char *json);
/* The calls the simulator received ([{method,path,...}]); caller decrefs. */
json_t		*t_env_sim_calls(struct t_env *);
void		 t_env_sim_forget_calls(struct t_env *);
/* Calls whose method is `method` and whose path contains `part`. */
int		 t_env_sim_count(struct t_env *, const char *method,
		    const char *part);

#endif
