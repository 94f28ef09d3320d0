/*
 * t.h - the test harness. A test binary lists its cases in main() with
 * T_RUN(); each prints "PASS name" or "FAIL name: file:line: what" and
 * tests/run.sh adds them up; T_ONLY=NAME in the environment runs only
 * that case. Checks do not abort a case: every failed
 * check is reported, so one run tells the whole story.
 */
#ifndef PVEBOT_T_H
#define PVEBOT_T_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

extern int t_case_failed;

void	t_fail(const char *file, int line, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	t_run(const char *name, void (*fn)(void));
int	t_summary(void);	/* exit status for main() */

#define T_RUN(fn) t_run(#fn, fn)

/*
 * Cases that mostly wait (a retry_after, a hang, a held router) run at
 * the same time so their waits overlap: each in a child process of its
 * own (own folder, fakes and pvebot, in its own process group), reported
 * in the order given as T_RUN reports them. A case still running after
 * timeout_ms is killed with its process group and fails.
 */
struct t_case {
	const char	*name;
	void		(*fn)(void);
};
#define T_CASE(fn) { #fn, fn }
void	t_run_parallel(const struct t_case *, size_t n, int timeout_ms);
#define T_OK(c) do { if (!(c)) t_fail(__FILE__, __LINE__, "%s", #c); } while (0)
#define T_EQ_INT(a, b) do {						\
	long long t_a_ = (long long)(a), t_b_ = (long long)(b);		\
	if (t_a_ != t_b_) t_fail(__FILE__, __LINE__,			\
	    "%s == %lld, expected %lld", #a, t_a_, t_b_);		\
} while (0)
#define T_EQ_STR(a, b) do {						\
	const char *t_a_ = (a), *t_b_ = (b);				\
	if (t_a_ == NULL || t_b_ == NULL || strcmp(t_a_, t_b_) != 0)	\
		t_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"",\
		    #a, t_a_ ? t_a_ : "(null)", t_b_ ? t_b_ : "(null)");	\
} while (0)
#define T_CONTAINS(hay, needle) do {					\
	const char *t_h_ = (hay), *t_n_ = (needle);			\
	if (t_h_ == NULL || strstr(t_h_, t_n_) == NULL)			\
		t_fail(__FILE__, __LINE__, "%s does not contain \"%s\": \"%s\"",\
		    #hay, t_n_, t_h_ ? t_h_ : "(null)");			\
} while (0)
#define T_NOT_CONTAINS(hay, needle) do {				\
	const char *t_h_ = (hay), *t_n_ = (needle);			\
	if (t_h_ != NULL && strstr(t_h_, t_n_) != NULL)			\
		t_fail(__FILE__, __LINE__, "%s contains \"%s\"", #hay, t_n_);\
} while (0)

/* A fresh temporary folder for the current case; removed when it passes. */
const char *t_tmpdir(void);
/* Writes a file (path relative to t_tmpdir() unless absolute); returns
 * its full path in static storage that the next call reuses. */
const char *t_write(const char *name, const char *content, int mode);
char	*t_path(const char *name);	/* caller frees */

/* Path of the pvebot binary under test ($PVEBOT, else bin/pvebot). */
const char *t_pvebot(void);

/*
 * Runs argv with stdin_text on standard input, captures stdout and
 * stderr (each capped at 4 MiB), kills the process after timeout_ms.
 * Returns the exit status, or 128+signal. out/err may be NULL.
 */
int	t_spawn(char *const argv[], const char *stdin_text, char **out,
	    char **err, int timeout_ms);

/* A background process: start, then stop with SIGTERM or SIGKILL. */
struct t_proc {
	int	 pid;
	int	 in_fd;		/* write end of its stdin, -1 if none */
	char	 out_path[512];	/* stdout+stderr go to this file */
};
int	t_proc_start(struct t_proc *, char *const argv[], int with_stdin);
int	t_proc_stop(struct t_proc *, int sig, int timeout_ms);
char	*t_proc_output(const struct t_proc *);	/* caller frees */
/* Waits until the output contains `needle`; 0 when found. */
int	t_proc_wait_for(const struct t_proc *, const char *needle,
	    int timeout_ms);

int	t_free_port(void);	/* a free TCP port on 127.0.0.1 */
char	*t_slurp(const char *path);	/* caller frees; NULL if missing */
/*
 * s with its first `from` replaced by `to` (caller frees). A check fails
 * when s (NULL allowed) has no `from`; the copy is then unchanged.
 */
char	*t_swap(const char *s, const char *from, const char *to);

#endif
