/*
 * bench_telegram.c - the Telegram figures of `make bench` (bench.sh):
 * `pvebot run` against the project's fake Bot API (tests/fakes/
 * fake_telegram.c) in this process on 127.0.0.1, with real long polling
 * (poll_timeout 30s: getUpdates waits at the fake until a message
 * arrives) and the fake's rate limits off. Not a test: it prints figures.
 *
 *   bench_telegram cpu N       CPU ms of the pvebot process per message
 *                              over a burst of N `whoami` injected at
 *                              once, until all N replies reached the
 *                              fake, minus what pvebot costs idle over
 *                              as long
 *   bench_telegram latency N   N `whoami`, one at a time: each one's
 *                              latency is from the moment the message is
 *                              available to getUpdates to the moment its
 *                              reply reached the fake; prints p50 (and
 *                              details) on a line, p95 on the next
 *   bench_telegram run N [WRAPPER...]
 *                              pvebot under WRAPPER (valgrind, for
 *                              instruction counts): N `whoami` at once,
 *                              then SIGTERM once all are answered
 *
 * Every mode first sends one `whoami` and waits for its reply, so start
 * up (SQLite's first statements, the first connection) is not counted.
 *
 * pvebot paces its sends as Telegram asks (one message a second per
 * private chat, about 30 a second in all; chat_telegram.c). The messages
 * therefore come from BENCH_USERS people, each in their own private chat,
 * so the per-chat pace does not hold replies back; in the latency mode
 * one message follows the previous reply by BENCH_GAP_MS, beyond the
 * overall pace, so that what is measured is pvebot's own latency, not the
 * wait it owes Telegram. The burst (cpu, run) is paced by pvebot at about
 * 30 replies a second: the wall time it takes says nothing, its CPU does.
 *
 * CPU is the process's clock (clock_getcpuclockid(3): every thread, with
 * nanoseconds), or /proc/PID/stat's ticks where that clock is refused.
 * $PVEBOT names the binary (default bin/pvebot); run from the source
 * folder (commands/, policies/default.yaml).
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fakes/fake_telegram.h"
#include "log.h"
#include "util.h"

#define BENCH_TOKEN	"777000111:AAbenchTOKENvalue_abcdefghijklmnopq"
#define BENCH_BOT	"pvebot_bench"
#define BENCH_BOT_ID	900777
#define BENCH_USERS	64		/* people, each in a private chat */
#define BENCH_USER0	1001		/* their Telegram ids: 1001.. */
#define BENCH_GAP_MS	40		/* > the 34 ms overall pace */
#define BENCH_IDLE_MS	2000		/* the idle baseline */
#define BENCH_NEEDLE	"you are user"	/* a whoami reply */

extern char	**environ;

struct bench {
	struct fake_telegram	*tg;
	char			 dir[64];
	char			*conf;
	char			*log;
	pid_t			 pid;
	clockid_t		 clock;
	int			 have_clock;
	size_t			 answered;	/* replies so far */
	int			 next_user;
};

static int64_t
mono_us(void)
{
	return fake_telegram_now_us();
}

static void
die(const char *fmt, const char *arg)
{
	fprintf(stderr, "bench_telegram: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL)
		die("cannot write %s", path);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

/* The folder pvebot runs from: config, token, policies, database. */
static void
bench_setup(struct bench *b)
{
	struct buf	 c;
	char		 cwd[PATH_MAX], *path, *text;
	int		 i;

	snprintf(b->dir, sizeof b->dir, "/tmp/pvebot-tgbench.XXXXXX");
	if (mkdtemp(b->dir) == NULL)
		die("mkdtemp %s", b->dir);
	if (getcwd(cwd, sizeof cwd) == NULL)
		die("%s", "getcwd");

	path = xasprintf("%s/policies", b->dir);
	mkdir(path, 0755);
	free(path);
	if ((text = read_file("policies/default.yaml", 1 << 20, NULL,
	    NULL)) == NULL)
		die("%s", "run from the source folder (policies/default.yaml)");
	path = xasprintf("%s/policies/default.yaml", b->dir);
	write_file(path, text, 0644);
	free(path);
	free(text);

	buf_init(&c, 0);
	buf_puts(&c, "users:\n");
	for (i = 0; i < BENCH_USERS; i++)
		buf_printf(&c, "  user%d:\n    identities: [telegram:%d]\n"
		    "    roles: [viewer]\n", BENCH_USER0 + i, BENCH_USER0 + i);
	path = xasprintf("%s/policies/users.yaml", b->dir);
	write_file(path, buf_cstr(&c), 0644);
	free(path);
	buf_release(&c);

	path = xasprintf("%s/telegram.token", b->dir);
	write_file(path, BENCH_TOKEN "\n", 0600);

	buf_init(&c, 0);
	buf_printf(&c,
	    "database: %s/bench.db\n"
	    "commands: %s/commands\n"
	    "policies: %s/policies\n"
	    "log_level: warn\n"
	    "chat:\n"
	    "  bot_name: " BENCH_BOT "\n"
	    "  rate_limit:\n"
	    "    per_user: 100000\n"
	    "    user_burst: 100000\n"
	    "    per_room: 100000\n"
	    "    room_burst: 100000\n"
	    "  console:\n"
	    "    enabled: false\n"
	    "  telegram:\n"
	    "    api_url: %s\n"
	    "    token_file: %s\n"
	    "    poll_timeout: 30s\n"
	    "    users: [",
	    b->dir, cwd, b->dir, fake_telegram_url(b->tg), path);
	free(path);
	for (i = 0; i < BENCH_USERS; i++)
		buf_printf(&c, "%s\"%d\"", i > 0 ? ", " : "", BENCH_USER0 + i);
	buf_puts(&c, "]\n"
	    "monitor:\n"
	    "  enabled: false\n"
	    "digest:\n"
	    "  enabled: false\n");
	b->conf = xasprintf("%s/bot.conf", b->dir);
	write_file(b->conf, buf_cstr(&c), 0600);
	buf_release(&c);
	b->log = xasprintf("%s/pvebot.log", b->dir);
}

/* Starts `[wrapper...] pvebot run -c conf`, output to the log. */
static void
bench_start(struct bench *b, char **wrap, int nwrap)
{
	posix_spawn_file_actions_t	 fa;
	const char			*pvebot = getenv("PVEBOT");
	char				**argv;
	int				 i, n = 0;

	if (pvebot == NULL || *pvebot == '\0')
		pvebot = "bin/pvebot";
	argv = xcalloc((size_t)nwrap + 5, sizeof *argv);
	for (i = 0; i < nwrap; i++)
		argv[n++] = wrap[i];
	argv[n++] = (char *)pvebot;
	argv[n++] = (char *)"run";
	argv[n++] = (char *)"-c";
	argv[n++] = b->conf;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, b->log,
	    O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	if (posix_spawnp(&b->pid, argv[0], &fa, NULL, argv, environ) != 0)
		die("cannot start %s", argv[0]);
	posix_spawn_file_actions_destroy(&fa);
	free(argv);
	b->have_clock = clock_getcpuclockid(b->pid, &b->clock) == 0;
}

/* CPU ms of pvebot so far, every thread. */
static double
bench_cpu_ms(struct bench *b)
{
	struct timespec	 ts;
	char		 path[64], *stat, *p;
	unsigned long	 ut, st;

	if (b->have_clock && clock_gettime(b->clock, &ts) == 0)
		return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)b->pid);
	if ((stat = read_file(path, 4096, NULL, NULL)) == NULL)
		return -1;
	/* Fields 14 and 15 (utime, stime), after the ")" of the name. */
	p = strrchr(stat, ')');
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
	    "%*u %*u %lu %lu", &ut, &st) != 2) {
		free(stat);
		return -1;
	}
	free(stat);
	return (double)(ut + st) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

/* The next person's private chat, round robin. */
static void
bench_inject(struct bench *b)
{
	int	 user = BENCH_USER0 + b->next_user;

	b->next_user = (b->next_user + 1) % BENCH_USERS;
	fake_telegram_inject_message(b->tg, user, user, "whoami", 0);
}

static void
bench_rmdir(struct bench *b)
{
	char	*rm = xasprintf("rm -rf '%s'", b->dir);

	if (system(rm) != 0)
		fprintf(stderr, "bench_telegram: cannot remove %s\n", b->dir);
	free(rm);
}

/* Gives up: says why with what pvebot logged, and stops it. */
static void
bench_fail(struct bench *b, const char *why)
{
	char	*log = read_file(b->log, 1 << 20, NULL, NULL);
	size_t	 len = log != NULL ? strlen(log) : 0;

	fprintf(stderr, "bench_telegram: %s; pvebot said:\n%s\n", why,
	    len > 4000 ? log + len - 4000 : log != NULL ? log : "");
	free(log);
	if (b->pid > 0) {
		kill(b->pid, SIGKILL);
		waitpid(b->pid, NULL, 0);
	}
	fake_telegram_stop(b->tg);
	bench_rmdir(b);
	exit(1);
}

/* Waits for reply number n in all; when it reached the fake, in µs. */
static int64_t
bench_wait(struct bench *b, size_t n, int timeout_ms)
{
	int64_t	 at;
	char	 why[64];

	at = fake_telegram_wait_sent(b->tg, BENCH_NEEDLE, n, timeout_ms);
	if (at < 0) {
		snprintf(why, sizeof why, "%zu of %zu replies", b->answered,
		    n);
		bench_fail(b, why);
	}
	b->answered = n;
	return at;
}

/* Waits until pvebot polls, then for the reply to a first whoami. */
static void
bench_ready(struct bench *b, int timeout_ms)
{
	int64_t	 deadline = now_ms() + timeout_ms;
	int	 status;

	while (fake_telegram_wait_calls(b->tg, "getUpdates", 1, 200) != 0) {
		if (waitpid(b->pid, &status, WNOHANG) == b->pid) {
			b->pid = -1;
			bench_fail(b, "pvebot exited before it polled");
		}
		if (now_ms() > deadline)
			bench_fail(b, "pvebot never polled getUpdates");
	}
	bench_inject(b);
	bench_wait(b, 1, timeout_ms);
}

static int
bench_stop(struct bench *b)
{
	int	 status = 0;

	kill(b->pid, SIGTERM);
	while (waitpid(b->pid, &status, 0) == -1 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 +
	    WTERMSIG(status);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t	 x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void
mode_cpu(struct bench *b, int n)
{
	double	 c0, c1, i0, i1, idle_per_ms, used;
	int64_t	 t0, t1;
	int	 i;

	bench_ready(b, 60000);
	/* Idle: long polling, nothing to do. */
	i0 = bench_cpu_ms(b);
	t0 = mono_us();
	sleep_ms(BENCH_IDLE_MS);
	i1 = bench_cpu_ms(b);
	idle_per_ms = (i1 - i0) / ((double)(mono_us() - t0) / 1000.0);

	c0 = bench_cpu_ms(b);
	t0 = mono_us();
	for (i = 0; i < n; i++)
		bench_inject(b);
	bench_wait(b, 1 + (size_t)n, 600000);
	c1 = bench_cpu_ms(b);
	t1 = mono_us();
	used = (c1 - c0) - idle_per_ms * (double)(t1 - t0) / 1000.0;
	printf("%.3f ms (%d messages in a burst, %d answered in %.1f s; "
	    "%.1f ms CPU, idle %.3f ms/s subtracted; %s clock)\n",
	    used / n, n, n, (double)(t1 - t0) / 1e6, c1 - c0,
	    idle_per_ms * 1000.0, b->have_clock ? "process CPU" :
	    "/proc tick");
}

static void
mode_latency(struct bench *b, int n)
{
	int64_t	*lat, sum = 0, last;
	int	 i;

	bench_ready(b, 60000);
	lat = xcalloc((size_t)n, sizeof *lat);
	last = mono_us();
	for (i = 0; i < n; i++) {
		int64_t	 t, at;

		/* Beyond pvebot's overall pace since the last reply. */
		while (mono_us() - last < BENCH_GAP_MS * 1000)
			sleep_ms(BENCH_GAP_MS - (mono_us() - last) / 1000);
		t = mono_us();
		bench_inject(b);
		at = bench_wait(b, b->answered + 1, 60000);
		lat[i] = at - t;
		sum += lat[i];
		last = mono_us();
	}
	qsort(lat, (size_t)n, sizeof *lat, cmp_i64);
	/* Two lines: p50 with the details, then p95. */
	printf("%.2f ms (%d messages one at a time; min %.2f, mean %.2f, "
	    "max %.2f ms)\n", (double)lat[(n - 1) / 2] / 1000.0, n,
	    (double)lat[0] / 1000.0, (double)sum / n / 1000.0,
	    (double)lat[n - 1] / 1000.0);
	printf("%.2f ms\n", (double)lat[(n * 95 + 99) / 100 - 1] / 1000.0);
	free(lat);
}

static void
mode_run(struct bench *b, int n)
{
	int	 i;

	bench_ready(b, 600000);
	for (i = 0; i < n; i++)
		bench_inject(b);
	bench_wait(b, 1 + (size_t)n, 1200000);
	printf("%d answered\n", n);
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_telegram cpu|latency|run N "
	    "[wrapper ...]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct bench	 b;
	const char	*errstr;
	int		 n, rc;

	if (argc < 3)
		usage();
	n = (int)strtonum(argv[2], 1, 100000, &errstr);
	if (errstr != NULL)
		usage();
	if (strcmp(argv[1], "run") != 0 && argc > 3)
		usage();
	log_set_level(LOG_WARN);
	memset(&b, 0, sizeof b);
	log_add_secret(BENCH_TOKEN);
	if ((b.tg = fake_telegram_start(BENCH_TOKEN, BENCH_BOT,
	    BENCH_BOT_ID)) == NULL)
		die("%s", "the fake Telegram cannot start");
	/*
	 * Off: pvebot paces itself under Telegram's limits, but a 429 would
	 * put a retry wait into what is measured; the fake's limits are for
	 * the tests of that pacing.
	 */
	fake_telegram_limits(b.tg, 0);
	bench_setup(&b);
	bench_start(&b, argv + 3, argc - 3);
	if (strcmp(argv[1], "cpu") == 0)
		mode_cpu(&b, n);
	else if (strcmp(argv[1], "latency") == 0)
		mode_latency(&b, n);
	else if (strcmp(argv[1], "run") == 0)
		mode_run(&b, n);
	else {
		kill(b.pid, SIGKILL);
		usage();
	}
	fflush(stdout);
	if ((rc = bench_stop(&b)) != 0)
		fprintf(stderr, "bench_telegram: pvebot exited with %d\n", rc);
	fake_telegram_stop(b.tg);
	bench_rmdir(&b);
	free(b.conf);
	free(b.log);
	return rc == 0 ? 0 : 1;
}
