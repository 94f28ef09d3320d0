/*
 * cmd.h - the command catalogue (commands/ folder, *.yaml) and the chat-line
 * parser.
 *
 * The catalogue says what each command is: names, aliases, typed
 * arguments, help, the policy action it maps to and how it runs (a
 * Proxmox API call template, an SSH argv template or a built-in handler).
 * The parser turns one chat line into a struct cmd_call whose every value
 * has passed its type's rules, so nothing unvalidated reaches a policy or
 * an executor. Parsing has no side effects and allocates only the result.
 * A loaded catalogue is never changed: any thread may parse against it.
 */
#ifndef PVEBOT_CMD_H
#define PVEBOT_CMD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define CMD_LINE_MAX	4096	/* bytes in one chat line */
#define CMD_REASON_MAX	200	/* characters in a free-text reason */

enum arg_type {
	ARG_GUEST,	/* VMID 100..999999999 or a guest name (DNS rules) */
	ARG_NODE,	/* Proxmox node name */
	ARG_SNAPSHOT,	/* Proxmox snapshot name */
	ARG_STORAGE,	/* Proxmox storage id */
	ARG_DURATION,	/* 90s, 15m, 2h, 7d, 1d12h */
	ARG_INT,	/* integer within [min, max] */
	ARG_ENUM,	/* one of enums[], case-insensitive */
	ARG_WORD,	/* matches pattern (anchored POSIX ERE) */
	ARG_REASON,	/* free text, the rest of the line, <= 200 chars */
	ARG_UPID,	/* Proxmox task id */
	ARG_MATCHER,	/* silence matcher: rule=R,node=N,guest=G,severity=S */
	ARG_VMID,	/* a VMID only (clone's NEWID) */
	ARG_COMMAND,	/* another command line, the rest of the line */
};

struct cmd_arg {
	char		 *name;
	enum arg_type	  type;
	int		  optional;
	long long	  min, max;	/* ARG_INT */
	char		**enums;	/* ARG_ENUM */
	size_t		  nenums;
	char		 *pattern;	/* ARG_WORD: POSIX ERE, anchored */
	char		 *def;		/* default when absent, or NULL */
	char		 *def_now;	/* strftime(3) default, UTC, or NULL */
	char		 *help;
	void		 *regex;	/* compiled pattern (regex_t) */
};

enum cmd_exec { CMD_EXEC_BUILTIN, CMD_EXEC_PROXMOX, CMD_EXEC_SSH };

struct cmd_param {
	char	*key;
	char	*value;		/* a template */
};

/* action_by: the action (and mutating) chosen by an enum argument. */
struct cmd_variant {
	char	*value;
	char	*action;
	int	 mutating;
};

struct cmd_def {
	char		 *name;
	char		**aliases;
	size_t		  naliases;
	char		 *summary;
	char		 *help;
	char		 *usage;	/* "snapshot GUEST NAME [REASON]" */
	char		 *group;	/* file name without .yaml: "guests" */
	struct cmd_arg	 *args;
	size_t		  nargs;
	char		 *action;	/* policy action: "guest.start" */
	int		  mutating;	/* changes state: self-protection */
	int		  heavy;	/* backup/migrate/clone: node limit */
	char		 *action_arg;	/* enum arg picking a variant */
	struct cmd_variant *variants;
	size_t		  nvariants;
	enum cmd_exec	  exec;
	char		 *builtin;	/* handler, or output formatter */
	struct {
		char		 *method;
		char		 *path;
		struct cmd_param *params;
		size_t		  nparams;
		struct cmd_param *params_qemu;
		size_t		  nparams_qemu;
		struct cmd_param *params_lxc;
		size_t		  nparams_lxc;
		int		  task;		/* returns a task UPID */
		char		 *expect_status; /* "running,paused" */
	} proxmox;
	struct {
		char		 *host_arg;	/* an ARG_NODE argument, or an
						   ARG_GUEST one: the node the
						   guest is on */
		int		  host_guest;	/* host_arg is the guest */
		char		**argv;		/* constants or "{arg}" */
		size_t		  nargv;
		char		**argv_qemu;	/* instead of argv: by the */
		size_t		  nargv_qemu;	/* guest's type */
		char		**argv_lxc;
		size_t		  nargv_lxc;
		long long	  timeout;	/* seconds */
		char		 *parser;
		int		  sudo;		/* needs root: "sudo -n" on
						   hosts that log in as a
						   plain user */
	} ssh;
	char		 *file;
	int		  line;
	/* Where builtin: and ssh.parser: were written (0 when absent). */
	int		  builtin_line, builtin_column;
	int		  parser_line, parser_column;
};

struct catalogue;

/*
 * Loads every *.yaml in dir, in name order. On failure returns NULL and
 * sets *errors to every problem, one "file:line:column: message\n" each.
 */
struct catalogue *catalogue_load(const char *dir, char **errors);
/*
 * The same over layered folders: a *.yaml in a later folder replaces the
 * file of the same name in an earlier one, other names add to them; the
 * files are then read in name order. Every folder must exist.
 */
struct catalogue *catalogue_load_dirs(const char *const *dirs, size_t ndirs,
	    char **errors);
/* The same from one YAML text (file names it in messages). */
struct catalogue *catalogue_load_string(const char *file, const char *text,
	    size_t len, char **errors);
void	 catalogue_free(struct catalogue *);
size_t	 catalogue_count(const struct catalogue *);
const struct cmd_def *catalogue_get(const struct catalogue *, size_t);
/* Case-insensitive; '-' and '_' are the same (Telegram has no '-'). */
const struct cmd_def *catalogue_find(const struct catalogue *,
	    const char *name_or_alias);
/* The closest name or alias to a typo, or NULL when none is close. */
const char *catalogue_suggest(const struct catalogue *, const char *typo);

struct cmd_parse_opts {
	const char	*bot_name;	/* "pvebot" (/cmd@pvebot); NULL any */
	int		 direct;	/* private conversation */
	int		 addressed;	/* slash command, reply, mention */
	int64_t		 now;		/* UNIX time for def_now; 0 = none */
};

enum cmd_parse_result {
	CMD_PARSE_OK,
	CMD_PARSE_IGNORE,	/* not addressed to pvebot: say nothing */
	CMD_PARSE_ERROR		/* *cause is the reply */
};

struct cmd_call {
	const struct cmd_def	 *def;
	char			**values;	/* def->nargs entries; NULL when
						   an optional arg is absent
						   and has no default */
	char			 *canonical;	/* "rollback 101 pre-upgrade" */
	const char		 *action;	/* effective policy action */
	int			  mutating;	/* effective */
	char			 *reason;	/* "-- TEXT" or "because TEXT"
						   after the arguments of a
						   command without a reason
						   argument; else NULL */
};

enum cmd_parse_result cmd_parse(const struct catalogue *, const char *text,
	    const struct cmd_parse_opts *, struct cmd_call *, char **cause);
/* The same for a message of known length (it may hold NUL bytes). */
enum cmd_parse_result cmd_parse_len(const struct catalogue *, const char *text,
	    size_t len, const struct cmd_parse_opts *, struct cmd_call *,
	    char **cause);
void	 cmd_call_release(struct cmd_call *);
const char *cmd_call_value(const struct cmd_call *, const char *arg_name);
/* 0 when value is valid for arg; else -1 and a one-line *cause. */
int	 cmd_validate_arg(const struct cmd_arg *, const char *value,
	    char **cause);
const char *cmd_arg_type_name(enum arg_type);
/*
 * A command line for def with values (NULL = absent), quoted so that
 * cmd_parse reads it back the same: what connectors with typed options
 * (Discord slash commands) feed to cmd_parse. Caller frees.
 */
char	*cmd_format_line(const struct cmd_def *, char *const *values);
/*
 * Appends one value quoted the way cmd_format_line() does; `rest` for a
 * value that takes the rest of the line (reason, command).
 */
struct buf;
void	 cmd_append_value(struct buf *, const char *v, int rest);

/* Plain-text help; NULL name = overview. Caller frees. */
char	*cmd_help(const struct catalogue *, const char *name, char **cause);
json_t	*cmd_export_telegram(const struct catalogue *);
json_t	*cmd_export_discord(const struct catalogue *);

/*
 * Executor bindings. The guest reference comes from resolving the call's
 * ARG_GUEST value against the cluster (NULL for commands without one).
 * Templates: {node} {type} {vmid} come from the guest; {arg} is the
 * argument's value; {arg?TEXT} is TEXT when arg is present. A param whose
 * template names an absent argument is dropped. Path values are
 * percent-encoded; param values are raw (the executor form-encodes them).
 */
struct cmd_guest_ref {
	const char	*node;
	const char	*type;		/* "qemu" or "lxc" */
	long long	 vmid;
};
struct cmd_proxmox_request {
	char		 *method;
	char		 *path;
	struct cmd_param *params;
	size_t		  nparams;
};
int	 cmd_proxmox_request(const struct cmd_call *,
	    const struct cmd_guest_ref *, struct cmd_proxmox_request *,
	    char **cause);
void	 cmd_proxmox_request_release(struct cmd_proxmox_request *);
/*
 * SSH: the host (node) and argv, one validated value per element. A
 * command with a guest argument needs its resolved reference g: {node}
 * {type} {vmid} elements and a host that names the guest come from it,
 * and argv_qemu / argv_lxc are chosen by its type. g may be NULL for
 * commands without a guest.
 */
int	 cmd_ssh_argv(const struct cmd_call *, const struct cmd_guest_ref *g,
	    char **host, char ***argv, size_t *argc, char **cause);
void	 cmd_ssh_argv_free(char **argv, size_t argc);

#endif
