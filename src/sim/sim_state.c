/*
 * sim_state.c - the simulated cluster and its tasks.
 *
 * The state starts as the "homelab" cluster of the brief. Tasks advance
 * lazily: every request first calls sim_tick(), which moves each running
 * task along its script by the time that passed (emitting its log lines)
 * and, once the task's duration is over, applies its effect (guest
 * started, snapshot taken, backup volume written, guest moved) and
 * releases the guest's lock. A task that fails applies nothing. All of it
 * runs under the simulator's one lock, so every reply sees a consistent
 * state. The task list is capped at SIM_MAX_TASKS (oldest finished tasks
 * are forgotten first) and each task's log at SIM_MAX_TASK_LINES.
 *
 * Guests live in one growing array (at most SIM_MAX_GUESTS) with a VMID
 * hash beside it, so a lookup costs the same at 13 guests and at 100,000;
 * snapshots are allocated only for guests that have some. Generated
 * guests (sim_guests_generate) fill a cluster up to N for tests and
 * benchmarks at scale.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim_int.h"
#include "util.h"

#define GiB	(1024LL * 1024 * 1024)
#define MiB	(1024LL * 1024)

static const struct {
	int		 vmid;
	int		 lxc;
	const char	*name;
	const char	*node;
	int		 running;
	int		 template;
	const char	*tags;
	int		 maxcpu;
	int64_t		 maxmem_mib, maxdisk_gib;
} initial_guests[] = {
	{ 100, 1, "pvebot", "pve1", 1, 0, "pvebot-self", 1, 512, 8 },
	{ 101, 0, "web-01", "pve1", 0, 0, "web;prod", 2, 4096, 32 },
	{ 102, 0, "db-01", "pve1", 1, 0, "db;prod", 4, 8192, 64 },
	{ 103, 1, "dns", "pve2", 1, 0, "infra", 1, 256, 4 },
	{ 104, 0, "media", "pve2", 0, 0, "media", 4, 4096, 500 },
	{ 105, 1, "monitoring-db", "pve2", 1, 0, "pvebot-self;monitoring",
	    2, 2048, 32 },
	{ 106, 0, "k8s-node-1", "pve3", 1, 0, "k8s", 4, 8192, 64 },
	{ 107, 1, "nextcloud", "pve3", 1, 0, "prod", 2, 2048, 200 },
	{ 108, 0, "win11", "pve2", 0, 0, "desktop", 4, 8192, 128 },
	{ 111, 1, "test", "pve1", 0, 0, "", 1, 512, 8 },
	{ 112, 0, "test", "pve2", 0, 0, "", 1, 1024, 16 },
	{ 9000, 0, "ubuntu-tmpl", "pve1", 0, 1, "", 2, 2048, 32 },
	{ 9001, 0, "debian-tmpl", "pve2", 0, 1, "", 2, 2048, 32 },
};

/* Copies with truncation; the destination is always terminated. */
static void
set_str(char *dst, size_t len, const char *src)
{
	size_t	n = strlen(src);

	if (n >= len)
		n = len - 1;
	memmove(dst, src, n);
	dst[n] = '\0';
}

/* The vmid hash: open addressing, linear probing, at most half full. */
static size_t
slot_of(const struct sim *s, int vmid)
{
	return ((size_t)((unsigned)vmid * 2654435761u) & (s->nslots - 1));
}

static void
index_rebuild(struct sim *s, size_t nslots)
{
	size_t	i, j;

	free(s->guest_slots);
	s->nslots = nslots;
	s->guest_slots = xcalloc(nslots, sizeof *s->guest_slots);
	for (i = 0; i < (size_t)s->nguests; i++) {
		for (j = slot_of(s, s->guests[i].vmid);
		    s->guest_slots[j] != 0; j = (j + 1) & (nslots - 1))
			;
		s->guest_slots[j] = (int)i + 1;
	}
}

struct sim_guest *
sim_guest_add(struct sim *s, int vmid)
{
	struct sim_guest	*g;
	size_t			 j;

	if (s->nguests >= SIM_MAX_GUESTS || sim_guest_find(s, vmid) != NULL)
		return (NULL);
	if (s->nguests == s->guestcap) {
		s->guestcap = s->guestcap == 0 ? 64 : s->guestcap * 2;
		if (s->guestcap > SIM_MAX_GUESTS)
			s->guestcap = SIM_MAX_GUESTS;
		s->guests = xreallocarray(s->guests, (size_t)s->guestcap,
		    sizeof *s->guests);
	}
	g = &s->guests[s->nguests++];
	memset(g, 0, sizeof *g);
	g->vmid = vmid;
	if ((size_t)s->nguests * 2 > s->nslots)
		index_rebuild(s, s->nslots == 0 ? 128 : s->nslots * 2);
	else {
		for (j = slot_of(s, vmid); s->guest_slots[j] != 0;
		    j = (j + 1) & (s->nslots - 1))
			;
		s->guest_slots[j] = s->nguests;
	}
	return (g);
}

int
sim_snap_add(struct sim_guest *g, struct sim_snap **out)
{
	if (g->nsnaps >= SIM_MAX_SNAPS)
		return (-1);
	if (g->snaps == NULL)
		g->snaps = xcalloc(SIM_MAX_SNAPS, sizeof *g->snaps);
	*out = &g->snaps[g->nsnaps++];
	memset(*out, 0, sizeof **out);
	return (0);
}

int
sim_node_index(struct sim *s, const char *name)
{
	int	i;

	for (i = 0; i < s->nnodes; i++) {
		if (strcmp(s->nodes[i].name, name) == 0)
			return (i);
	}
	return (-1);
}

int64_t
sim_storage_used(const struct sim_storage *st, int node_index)
{
	if (st->shared || node_index < 0 || node_index >= SIM_MAX_NODES)
		return (st->disk);
	return (st->node_disk[node_index]);
}

void
sim_storage_add_used(struct sim_storage *st, int node_index, int64_t bytes)
{
	int64_t	*d = st->shared || node_index < 0 ||
		    node_index >= SIM_MAX_NODES ? &st->disk :
		    &st->node_disk[node_index];

	*d += bytes;
	if (*d > st->maxdisk)
		*d = st->maxdisk;
	if (*d < 0)
		*d = 0;
}

void
sim_storage_set_used(struct sim_storage *st, int node_index, int64_t bytes)
{
	int	i;

	if (st->shared || node_index < 0 || node_index >= SIM_MAX_NODES) {
		st->disk = bytes;
		if (!st->shared) {
			for (i = 0; i < SIM_MAX_NODES; i++)
				st->node_disk[i] = bytes;
		}
		return;
	}
	st->node_disk[node_index] = bytes;
}

static void
storage_new(struct sim *s, const char *id, const char *type,
    const char *content, int shared, int64_t maxdisk, const int64_t *used)
{
	struct sim_storage	*st = &s->storages[s->nstorages++];
	int			 i;

	snprintf(st->id, sizeof st->id, "%s", id);
	snprintf(st->type, sizeof st->type, "%s", type);
	snprintf(st->content, sizeof st->content, "%s", content);
	st->shared = shared;
	st->maxdisk = maxdisk;
	st->disk = used[0];
	for (i = 0; i < SIM_MAX_NODES; i++)
		st->node_disk[i] = used[i % 3];
}

void
sim_state_init(struct sim *s)
{
	static const char *const names[] = { "pve1", "pve2", "pve3" };
	static const int maxcpu[] = { 16, 8, 8 };
	static const int64_t maxmem[] = { 64 * GiB, 32 * GiB, 32 * GiB };
	static const int64_t local[] = { 14 * GiB, 21 * GiB, 9 * GiB };
	static const int64_t lvm[] = { 310 * GiB, 455 * GiB, 128 * GiB };
	static const int64_t nas[] = { 1250 * GiB, 1250 * GiB, 1250 * GiB };
	struct sim_node		*n;
	struct sim_guest	*g;
	struct sim_snap		*sn;
	int64_t			 now = wall_now(), day;
	size_t			 i;

	s->quorate = 1;
	sim_health_init(s);
	s->next_pid = 0x1000 + (unsigned)(random_u64() % 0x8000);
	for (i = 0; i < nitems(names); i++) {
		n = &s->nodes[s->nnodes++];
		snprintf(n->name, sizeof n->name, "%s", names[i]);
		n->online = 1;
		n->cpu = 0.04 + 0.03 * (double)i;
		n->maxcpu = maxcpu[i];
		n->maxmem = maxmem[i];
		n->mem = maxmem[i] / 4 + (int64_t)i * GiB;
		n->maxdisk = 100 * GiB;
		n->disk = 12 * GiB + (int64_t)i * 3 * GiB;
		n->boot_time = now - 86400 * 12 - 3600 * (int64_t)i;
		snprintf(n->wol_mac, sizeof n->wol_mac,
		    "BC:24:11:AA:00:%02X", (unsigned)i + 1);
	}

	for (i = 0; i < nitems(initial_guests); i++) {
		if ((g = sim_guest_add(s, initial_guests[i].vmid)) == NULL)
			abort();
		g->lxc = initial_guests[i].lxc;
		snprintf(g->name, sizeof g->name, "%s", initial_guests[i].name);
		snprintf(g->node, sizeof g->node, "%s", initial_guests[i].node);
		snprintf(g->tags, sizeof g->tags, "%s", initial_guests[i].tags);
		g->running = initial_guests[i].running;
		g->template = initial_guests[i].template;
		g->maxcpu = initial_guests[i].maxcpu;
		g->maxmem = initial_guests[i].maxmem_mib * MiB;
		g->maxdisk = initial_guests[i].maxdisk_gib * GiB;
		g->disk = g->lxc ? g->maxdisk / 3 : 0;
		g->onboot = g->running;
		if (g->running) {
			g->cpu = 0.02 + 0.01 * (double)(i % 5);
			g->mem = g->maxmem / 2;
			g->started = now - 86400 * 3 - 600 * (int64_t)i;
		}
	}
	if ((g = sim_guest_find(s, 101)) == NULL || sim_snap_add(g, &sn) != 0)
		abort();
	snprintf(sn->name, sizeof sn->name, "pre-upgrade");
	snprintf(sn->description, sizeof sn->description,
	    "before apt full-upgrade");
	sn->snaptime = now - 86400 * 14;
	if (sim_snap_add(g, &sn) != 0)
		abort();
	snprintf(sn->name, sizeof sn->name, "safety-1");
	snprintf(sn->parent, sizeof sn->parent, "pre-upgrade");
	sn->snaptime = now - 86400 * 2;
	if ((g = sim_guest_find(s, 102)) == NULL || sim_snap_add(g, &sn) != 0)
		abort();
	snprintf(sn->name, sizeof sn->name, "nightly");
	snprintf(sn->description, sizeof sn->description,
	    "nightly snapshot");
	sn->snaptime = now - 3600 * 8;
	sn->vmstate = 1;

	/* Local storages differ per node; the NFS share is one pool. */
	storage_new(s, "local", "dir", "backup,iso,vztmpl", 0, 100 * GiB,
	    local);
	storage_new(s, "local-lvm", "lvmthin", "images,rootdir", 0,
	    800 * GiB, lvm);
	storage_new(s, "nas-backup", "nfs", "backup", 1, 4000 * GiB, nas);

	s->backups = xcalloc(SIM_MAX_BACKUPS, sizeof *s->backups);
	/*
	 * Backups whole days before the last full hour: their ages do not
	 * depend on the time of day (at 01:00 UTC of the last days, a test
	 * an hour later than 23:58 saw "yesterday's" backup two days old).
	 */
	day = now - now % 3600;
	sim_add_backup(s, "nas-backup", "", 101, 0, day - 3 * 86400,
	    2 * GiB + 123456789, "zstd");
	sim_add_backup(s, "nas-backup", "", 102, 0, day - 2 * 86400,
	    6 * GiB + 987654321, "zstd");
	sim_add_backup(s, "nas-backup", "", 102, 0, day - 86400,
	    6 * GiB + 999111222, "zstd");
	sim_add_backup(s, "nas-backup", "", 103, 1, day - 86400,
	    300 * MiB, "zstd");
	sim_add_backup(s, "nas-backup", "", 107, 1, day - 86400,
	    40 * GiB + 1234567, "zstd");
}

/*
 * Generated guests for tests and benchmarks at scale: VMIDs from 10000
 * up, spread round-robin over the nodes, one in three a container, about
 * three in five running, with sizes and loads that vary but are the same
 * on every run (a fixed pseudo-random sequence).
 */
int
sim_guests_generate(struct sim *s, int total, char **cause)
{
	static const char *const tags[] = { "gen", "gen;web", "gen;db",
	    "gen;batch", "gen;prod" };
	struct sim_guest	*g;
	int64_t			 now = wall_now();
	uint32_t		 r = 2463534242u;
	int			 vmid = 10000, k;

	if (total < 0 || total > SIM_MAX_GUESTS)
		return (set_cause(cause, "guests: %d is not between %d and %d",
		    total, 0, SIM_MAX_GUESTS));
	for (k = 0; s->nguests < total; k++) {
		while (sim_guest_find(s, vmid) != NULL)
			vmid++;
		if ((g = sim_guest_add(s, vmid)) == NULL)
			return (set_cause(cause, "guests: cannot add %d",
			    vmid));
		/* xorshift32 */
		r ^= r << 13;
		r ^= r >> 17;
		r ^= r << 5;
		g->lxc = k % 3 == 2;
		snprintf(g->name, sizeof g->name, "gen-%d", vmid);
		snprintf(g->node, sizeof g->node, "%s",
		    s->nodes[k % s->nnodes].name);
		snprintf(g->tags, sizeof g->tags, "%s",
		    tags[r % nitems(tags)]);
		g->running = r % 5 < 3;
		g->maxcpu = 1 << ((r >> 8) % 3);
		g->maxmem = (512 << ((r >> 12) % 4)) * MiB;
		g->maxdisk = (8 << ((r >> 16) % 4)) * GiB;
		g->disk = g->lxc ? g->maxdisk / (2 + (int)(r >> 20) % 4) : 0;
		g->onboot = g->running;
		if (g->running) {
			g->cpu = (double)((r >> 4) % 1000) / 4000.0;
			g->mem = g->maxmem / (2 + (int)(r >> 24) % 3);
			g->started = now - 3600 - (int64_t)(r % 864000);
		}
		vmid++;
	}
	return (0);
}

static void
task_free(struct sim_task *t)
{
	int	i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nscript; i++)
		free(t->script[i].text);
	free(t->script);
	for (i = 0; i < t->nlog; i++)
		free(t->log[i]);
	free(t->log);
	free(t->exitstatus);
	free(t->fail);
	free(t);
}

void
sim_state_free(struct sim *s)
{
	int	i;

	for (i = 0; i < s->ntasks; i++)
		task_free(s->tasks[i]);
	s->ntasks = 0;
	for (i = 0; i < s->nguests; i++)
		free(s->guests[i].snaps);
	free(s->guests);
	free(s->guest_slots);
	free(s->backups);
	sim_health_free(s);
	s->guests = NULL;
	s->guest_slots = NULL;
	s->nguests = s->guestcap = 0;
	s->nslots = 0;
	s->backups = NULL;
}

struct sim_node *
sim_node_find(struct sim *s, const char *name)
{
	int	i;

	for (i = 0; i < s->nnodes; i++) {
		if (strcmp(s->nodes[i].name, name) == 0)
			return (&s->nodes[i]);
	}
	return (NULL);
}

struct sim_node *
sim_local_node(struct sim *s)
{
	int	i;

	for (i = 0; i < s->nnodes; i++) {
		if (s->nodes[i].online)
			return (&s->nodes[i]);
	}
	return (NULL);
}

int
sim_startup_order(const struct sim_guest *g, int *down)
{
	int	order = -1, d = -1;

	if (g->startup[0] != '\0' &&
	    sim_startup_parse(g->startup, &order, &d) != 0)
		order = d = -1;
	if (down != NULL)
		*down = d;
	return (order);
}

struct sim_guest *
sim_guest_find(struct sim *s, int vmid)
{
	size_t	j;
	int	i;

	if (s->nslots == 0)
		return (NULL);
	for (j = slot_of(s, vmid); (i = s->guest_slots[j]) != 0;
	    j = (j + 1) & (s->nslots - 1)) {
		if (s->guests[i - 1].vmid == vmid)
			return (&s->guests[i - 1]);
	}
	return (NULL);
}

struct sim_storage *
sim_storage_find(struct sim *s, const char *id)
{
	int	i;

	for (i = 0; i < s->nstorages; i++) {
		if (strcmp(s->storages[i].id, id) == 0)
			return (&s->storages[i]);
	}
	return (NULL);
}

struct sim_task *
sim_task_find(struct sim *s, const char *upid)
{
	int	i;

	for (i = 0; i < s->ntasks; i++) {
		if (strcmp(s->tasks[i]->upid, upid) == 0)
			return (s->tasks[i]);
	}
	return (NULL);
}

const char *
sim_guest_kind(const struct sim_guest *g)
{
	return (g->lxc ? "CT" : "VM");
}

int
sim_token_has(const struct sim_token *tok, const char *priv)
{
	int	i;

	if (tok->all)
		return (1);
	for (i = 0; i < tok->nprivs; i++) {
		if (strcmp(tok->privs[i], priv) == 0)
			return (1);
	}
	return (0);
}

void
sim_add_backup(struct sim *s, const char *storage, const char *node,
    int vmid, int lxc, int64_t when, int64_t size, const char *compress)
{
	struct sim_backup	*b;
	struct sim_guest	*g;
	struct tm		 tm;
	time_t			 tt = (time_t)when;
	char			 stamp[32];
	const char		*ext;

	if (s->nbackups >= SIM_MAX_BACKUPS)
		return;
	gmtime_r(&tt, &tm);
	strftime(stamp, sizeof stamp, "%Y_%m_%d-%H_%M_%S", &tm);
	if (strcmp(compress, "gzip") == 0)
		ext = "gz";
	else if (strcmp(compress, "lzo") == 0)
		ext = "lzo";
	else if (strcmp(compress, "0") == 0)
		ext = "";
	else
		ext = "zst";
	b = &s->backups[s->nbackups++];
	snprintf(b->storage, sizeof b->storage, "%s", storage);
	snprintf(b->node, sizeof b->node, "%s", node);
	snprintf(b->format, sizeof b->format, "%s%s%s", lxc ? "tar" : "vma",
	    *ext != '\0' ? "." : "", ext);
	snprintf(b->volid, sizeof b->volid, "%s:backup/vzdump-%s-%d-%s.%s",
	    storage, lxc ? "lxc" : "qemu", vmid, stamp, b->format);
	b->vmid = vmid;
	b->ctime = when;
	b->size = size;
	b->protected = 0;
	b->name[0] = b->tags[0] = '\0';
	b->maxcpu = 0;
	b->maxmem = b->maxdisk = 0;
	b->net0[0] = b->ipconfig0[0] = b->nameserver[0] = '\0';
	b->searchdomain[0] = '\0';
	if ((g = sim_guest_find(s, vmid)) != NULL) {
		snprintf(b->name, sizeof b->name, "%s", g->name);
		snprintf(b->tags, sizeof b->tags, "%s", g->tags);
		b->maxcpu = g->maxcpu;
		b->maxmem = g->maxmem;
		b->maxdisk = g->maxdisk;
		sim_prov_backup(b, g);
	}
}

static void
script_add(struct sim_task *t, int permille, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
script_add(struct sim_task *t, int permille, const char *fmt, ...)
{
	va_list	ap;

	if (t->nscript >= SIM_MAX_TASK_LINES)
		return;
	t->script = xreallocarray(t->script, (size_t)t->nscript + 1,
	    sizeof *t->script);
	t->script[t->nscript].permille = permille;
	va_start(ap, fmt);
	t->script[t->nscript].text = xvasprintf(fmt, ap);
	va_end(ap);
	t->nscript++;
}

static void log_add(struct sim_task *, const char *);

void
sim_task_log(struct sim_task *t, const char *text)
{
	log_add(t, text);
}

void
sim_task_script_add(struct sim_task *t, int permille, const char *fmt, ...)
{
	va_list	ap;
	char	*line;

	va_start(ap, fmt);
	line = xvasprintf(fmt, ap);
	va_end(ap);
	script_add(t, permille, "%s", line);
	free(line);
}

static void
log_add(struct sim_task *t, const char *text)
{
	if (t->nlog >= SIM_MAX_TASK_LINES)
		return;
	t->log = xreallocarray(t->log, (size_t)t->nlog + 1, sizeof *t->log);
	t->log[t->nlog++] = xstrdup(text);
}

/* "2026-11-22 18:20:00" for a moment of the task (UTC). */
static void
stamp_at(const struct sim_task *t, int permille, char *buf, size_t len,
    const char *fmt)
{
	struct tm	tm;
	time_t		tt = (time_t)(t->starttime +
			    t->dur_ms * permille / 1000 / 1000);

	gmtime_r(&tt, &tm);
	strftime(buf, len, fmt, &tm);
}

static void
gib(char *buf, size_t len, double bytes)
{
	if (bytes >= (double)GiB)
		snprintf(buf, len, "%.1f GiB", bytes / (double)GiB);
	else
		snprintf(buf, len, "%.1f MiB", bytes / (double)MiB);
}

static void
script_vzdump(struct sim *s, struct sim_task *t)
{
	static const int pcts[] = { 8, 21, 37, 52, 68, 85, 100 };
	struct sim_guest	*g;
	char			 ts[32], a[32], b[32], fname[256];
	char			 stamp[32];
	int			 i, j, from, span, secs, dsecs;
	double			 total;
	struct tm		 tm;
	time_t			 tt = (time_t)t->starttime;

	gmtime_r(&tt, &tm);
	strftime(stamp, sizeof stamp, "%Y_%m_%d-%H_%M_%S", &tm);
	{
		struct buf	ids;

		buf_init(&ids, 1024);
		for (i = 0; i < t->nvmids; i++)
			buf_printf(&ids, "%s%d", i ? " " : "", t->vmids[i]);
		script_add(t, 0, "INFO: starting new backup job: vzdump %s "
		    "--mode %s --compress %s --storage %s --node %s",
		    buf_cstr(&ids), t->mode, t->compress, t->storage, t->node);
		buf_release(&ids);
	}
	span = 1000 / (t->nvmids > 0 ? t->nvmids : 1);
	secs = (int)(t->dur_ms / 1000 / (t->nvmids > 0 ? t->nvmids : 1));
	for (i = 0; i < t->nvmids; i++) {
		g = sim_guest_find(s, t->vmids[i]);
		if (g == NULL)
			continue;
		from = i * span;
		stamp_at(t, from, ts, sizeof ts, "%Y-%m-%d %H:%M:%S");
		script_add(t, from, "INFO: Starting Backup of VM %d (%s)",
		    g->vmid, g->lxc ? "lxc" : "qemu");
		script_add(t, from, "INFO: Backup started at %s", ts);
		script_add(t, from, "INFO: status = %s",
		    g->running ? "running" : "stopped");
		script_add(t, from, "INFO: %s Name: %s",
		    g->lxc ? "CT" : "VM", g->name);
		script_add(t, from, "INFO: backup mode: %s", t->mode);
		script_add(t, from, "INFO: ionice priority: 7");
		snprintf(fname, sizeof fname, "vzdump-%s-%d-%s.%s%s",
		    g->lxc ? "lxc" : "qemu", g->vmid, stamp,
		    g->lxc ? "tar" : "vma",
		    strcmp(t->compress, "0") == 0 ? "" :
		    strcmp(t->compress, "gzip") == 0 ? ".gz" :
		    strcmp(t->compress, "lzo") == 0 ? ".lzo" : ".zst");
		script_add(t, from, "INFO: creating vzdump archive "
		    "'/mnt/pve/%s/dump/%s'", t->storage, fname);
		total = (double)g->maxdisk;
		if (g->lxc) {
			script_add(t, from + span / 2, "INFO: Total bytes "
			    "written: %lld (%.1fGiB, 180MiB/s)",
			    (long long)(total / 3), total / 3 / (double)GiB);
		} else {
			script_add(t, from, "INFO: started backup task "
			    "'%08x-%04x-4%03x-8%03x-%012llx'", t->pid,
			    t->pstart & 0xffff, g->vmid & 0xfff,
			    t->pid & 0xfff, (unsigned long long)t->starttime);
			for (j = 0; j < (int)nitems(pcts); j++) {
				gib(a, sizeof a, total * pcts[j] / 100);
				gib(b, sizeof b, total);
				dsecs = secs * pcts[j] / 100;
				script_add(t, from + span * pcts[j] / 100 - 1,
				    "INFO: %3d%% (%s of %s) in %ds, read: "
				    "%.1f MiB/s, write: %.1f MiB/s", pcts[j],
				    a, b, dsecs > 0 ? dsecs : 1,
				    412.7 + j * 13.1, 98.4 + j * 4.2);
			}
			gib(b, sizeof b, total);
			script_add(t, from + span - 1, "INFO: transferred %s "
			    "in %d seconds", b, secs > 0 ? secs : 1);
		}
		script_add(t, from + span - 1, "INFO: archive file size: "
		    "%.2fGB", total / 5 / 1e9);
		script_add(t, from + span - 1, "INFO: Finished Backup of VM "
		    "%d (00:%02d:%02d)", g->vmid, secs / 60, secs % 60);
		stamp_at(t, from + span, ts, sizeof ts, "%Y-%m-%d %H:%M:%S");
		script_add(t, from + span - 1, "INFO: Backup finished at %s",
		    ts);
	}
}

static void
script_migrate(struct sim *s, struct sim_task *t, struct sim_guest *g)
{
	static const int pcts[] = { 12, 31, 55, 78, 100 };
	char		ts[32], a[32], b[32];
	double		total = (double)g->maxmem;
	int		j, p, secs = (int)(t->dur_ms / 1000);

	(void)s;
#define TS(pm) (stamp_at(t, (pm), ts, sizeof ts, "%Y-%m-%d %H:%M:%S"), ts)
	if (g->lxc && t->flag && g->running) {
		script_add(t, 0, "%s shutdown CT %d", TS(0), g->vmid);
	}
	script_add(t, 20, "%s starting migration of %s %d to node '%s'",
	    TS(20), sim_guest_kind(g), g->vmid, t->target);
	script_add(t, 60, "%s found local volume 'local-lvm:vm-%d-disk-0' "
	    "(in current VM config)", TS(60), g->vmid);
	if (!g->lxc && g->running) {
		script_add(t, 100, "%s starting VM %d on remote node '%s'",
		    TS(100), g->vmid, t->target);
		script_add(t, 150, "%s start remote tunnel", TS(150));
		script_add(t, 160, "%s starting online/live migration on "
		    "unix:/run/qemu-server/%d.migrate", TS(160), g->vmid);
		for (j = 0; j < (int)nitems(pcts); j++) {
			p = 200 + 700 * pcts[j] / 100;
			gib(a, sizeof a, total * pcts[j] / 100);
			gib(b, sizeof b, total);
			script_add(t, p, "%s migration active, transferred %s "
			    "of %s VM-state, 1.1 GiB/s", TS(p), a, b);
		}
		script_add(t, 920, "%s migration completed, transferred %s "
		    "VM-state", TS(920), b);
	} else {
		total = (double)(g->maxdisk > 0 ? g->maxdisk : 8 * GiB);
		for (j = 0; j < (int)nitems(pcts); j++) {
			p = 100 + 800 * pcts[j] / 100;
			gib(a, sizeof a, total * pcts[j] / 100);
			gib(b, sizeof b, total);
			script_add(t, p, "%s %s: transferred %s of %s "
			    "(%.2f%%) in %ds", TS(p),
			    g->lxc ? "rootfs" : "drive-scsi0", a, b,
			    (double)pcts[j], secs * pcts[j] / 100);
		}
	}
	script_add(t, 950, "%s start final cleanup", TS(950));
	if (g->lxc && t->flag && g->running)
		script_add(t, 970, "%s start container on target node",
		    TS(970));
	script_add(t, 999, "%s migration finished successfully "
	    "(duration 00:%02d:%02d)", TS(999), secs / 60, secs % 60);
#undef TS
}

static void
script_clone(struct sim_task *t, struct sim_guest *g)
{
	static const int pcts[] = { 10, 35, 60, 85, 100 };
	char		a[32], b[32];
	double		total = (double)g->maxdisk;
	int		j, linked = g->template && !t->flag;

	if (g->lxc) {
		script_add(t, 100, "create %s clone of mount point rootfs "
		    "(local-lvm:vm-%d-disk-0)", linked ? "linked" : "full",
		    g->vmid);
		return;
	}
	script_add(t, 50, "create %s clone of drive scsi0 "
	    "(local-lvm:%s-%d-disk-0)", linked ? "linked" : "full",
	    g->template ? "base" : "vm", g->vmid);
	if (linked)
		return;
	for (j = 0; j < (int)nitems(pcts); j++) {
		gib(a, sizeof a, total * pcts[j] / 100);
		gib(b, sizeof b, total);
		script_add(t, 100 + 850 * pcts[j] / 100, "transferred %s of "
		    "%s (%.2f%%)", a, b, (double)pcts[j]);
	}
}

/*
 * startall / stopall: one line per guest in the order of t->vmids (the
 * handler sorted them as Proxmox does), as the real task prints them
 * ("Starting VM 101", "Stopping CT 103 (timeout = 180 seconds)").
 */
static void
script_bulk(struct sim *s, struct sim_task *t)
{
	struct sim_guest	*g;
	int			 i, span;

	span = 1000 / (t->nvmids > 0 ? t->nvmids : 1);
	for (i = 0; i < t->nvmids; i++) {
		if ((g = sim_guest_find(s, t->vmids[i])) == NULL)
			continue;
		if (strcmp(t->type, "startall") == 0)
			script_add(t, i * span, "Starting %s %d",
			    sim_guest_kind(g), g->vmid);
		else
			script_add(t, i * span, "Stopping %s %d (timeout = "
			    "%d seconds)", sim_guest_kind(g), g->vmid,
			    t->flag);
	}
}

/* Fills the task's script of log lines from its type and target. */
void
sim_task_script(struct sim *s, struct sim_task *t)
{
	struct sim_guest	*g = sim_guest_find(s, t->vmid);

	if (strcmp(t->type, "vzdump") == 0) {
		script_vzdump(s, t);
		return;
	}
	if (strcmp(t->type, "startall") == 0 ||
	    strcmp(t->type, "stopall") == 0) {
		script_bulk(s, t);
		return;
	}
	if (sim_backup_task(t)) {
		sim_backup_script(s, t);
		return;
	}
	if (g == NULL)
		return;
	if (strcmp(t->type, "qmigrate") == 0 ||
	    strcmp(t->type, "vzmigrate") == 0)
		script_migrate(s, t, g);
	else if (strcmp(t->type, "qmclone") == 0 ||
	    strcmp(t->type, "vzclone") == 0)
		script_clone(t, g);
	else if (strcmp(t->type, "qmsnapshot") == 0) {
		if (t->vmstate && g->running)
			script_add(t, 100, "saving VM state and RAM using "
			    "storage 'local-lvm'");
		script_add(t, 500, "snapshotting 'drive-scsi0' "
		    "(local-lvm:vm-%d-disk-0)", g->vmid);
	} else if (strcmp(t->type, "vzsnapshot") == 0)
		script_add(t, 500, "create snapshot '%s'", t->snapname);
	else if (strcmp(t->type, "qmrollback") == 0 ||
	    strcmp(t->type, "vzrollback") == 0)
		script_add(t, 300, "Logical volume \"vm-%d-disk-0\" "
		    "successfully removed.", g->vmid);
	else if (strcmp(t->type, "qmdelsnapshot") == 0 ||
	    strcmp(t->type, "vzdelsnapshot") == 0)
		script_add(t, 500, "Logical volume \"snap_vm-%d-disk-0_%s\" "
		    "successfully removed.", g->vmid, t->snapname);
	else if (strcmp(t->type, "qmstart") == 0 && !g->lxc)
		script_add(t, 200, "generating cloud-init ISO");
}

struct sim_task *
sim_task_new(struct sim *s, const char *node, const char *type,
    const char *id, const char *user)
{
	struct sim_task	*t;
	int		 i, victim = -1;

	if (s->ntasks >= SIM_MAX_TASKS) {
		for (i = 0; i < s->ntasks; i++) {
			if (!s->tasks[i]->running) {
				victim = i;
				break;
			}
		}
		if (victim == -1)
			victim = 0;
		task_free(s->tasks[victim]);
		memmove(&s->tasks[victim], &s->tasks[victim + 1],
		    (size_t)(s->ntasks - victim - 1) * sizeof *s->tasks);
		s->ntasks--;
	}
	t = xcalloc(1, sizeof *t);
	snprintf(t->node, sizeof t->node, "%s", node);
	snprintf(t->type, sizeof t->type, "%s", type);
	snprintf(t->id, sizeof t->id, "%s", id);
	snprintf(t->user, sizeof t->user, "%s", user);
	t->pid = s->next_pid++;
	t->pstart = (unsigned)(now_ms() / 10) & 0xffffffu;
	t->starttime = wall_now();
	t->start_ms = now_ms();
	t->dur_ms = s->task_ms;
	t->running = 1;
	snprintf(t->upid, sizeof t->upid, "UPID:%s:%08X:%08X:%08X:%s:%s:%s:",
	    node, t->pid, t->pstart, (unsigned)t->starttime, type, id, user);
	s->tasks[s->ntasks++] = t;
	/* An injected failure for this type is used up by this task. */
	for (i = 0; i < s->ntaskfails; i++) {
		if (strcmp(s->taskfails[i].type, type) == 0) {
			t->fail = xstrdup(s->taskfails[i].message);
			memmove(&s->taskfails[i], &s->taskfails[i + 1],
			    (size_t)(s->ntaskfails - i - 1) *
			    sizeof *s->taskfails);
			s->ntaskfails--;
			break;
		}
	}
	return (t);
}

static void
release_locks(struct sim *s, struct sim_task *t)
{
	struct sim_guest	*g;
	int			 i;

	if (!t->locked)
		return;
	if (t->nvmids > 0) {
		for (i = 0; i < t->nvmids; i++) {
			if ((g = sim_guest_find(s, t->vmids[i])) != NULL)
				g->lock[0] = '\0';
		}
	} else if ((g = sim_guest_find(s, t->vmid)) != NULL)
		g->lock[0] = '\0';
	t->locked = 0;
}

static void
task_end(struct sim_task *t, const char *error)
{
	char	*line;

	t->running = 0;
	t->endtime = wall_now();
	if (error == NULL) {
		log_add(t, "TASK OK");
		t->exitstatus = xstrdup("OK");
	} else {
		line = xasprintf("TASK ERROR: %s", error);
		log_add(t, line);
		free(line);
		t->exitstatus = xstrdup(error);
	}
}

static struct sim_snap *
snap_find(struct sim_guest *g, const char *name)
{
	int	i;

	for (i = 0; i < g->nsnaps; i++) {
		if (strcmp(g->snaps[i].name, name) == 0)
			return (&g->snaps[i]);
	}
	return (NULL);
}

static void
guest_power(struct sim_guest *g, int on, int64_t now)
{
	if (on) {
		if (g->running || g->template)
			return;
		g->running = 1;
		g->paused = 0;
		g->started = now;
		g->cpu = 0.05;
		g->mem = g->maxmem / 3;
	} else {
		g->running = 0;
		g->paused = 0;
		g->cpu = 0;
		g->mem = 0;
	}
}

/*
 * A node's power change comes due: shutdown stops its guests and takes
 * it offline; reboot and wake bring it up and start the guests with
 * onboot=1, as pve-guests.service does at boot.
 */
static void
node_power_apply(struct sim *s, struct sim_node *n)
{
	struct sim_guest	*g;
	int64_t			 now = wall_now();
	int			 i;

	for (i = 0; i < s->nguests; i++) {
		g = &s->guests[i];
		if (strcmp(g->node, n->name) != 0)
			continue;
		if (n->power != SIM_POWER_WAKE)
			guest_power(g, 0, now);
		if (n->power != SIM_POWER_SHUTDOWN && g->onboot)
			guest_power(g, 1, now);
	}
	n->online = n->power != SIM_POWER_SHUTDOWN;
	if (n->online)
		n->boot_time = now;
	n->power = SIM_POWER_NONE;
}

/* Applies a finished task's effect; NULL, or why it failed. */
static char *
task_apply(struct sim *s, struct sim_task *t)
{
	struct sim_guest	*g = sim_guest_find(s, t->vmid), *ng;
	struct sim_snap		*sn;
	struct sim_storage	*st;
	const char		*ty = t->type + 2;	/* after qm / vz */
	int64_t			 now = wall_now();
	int			 i;

	if (strcmp(t->type, "startall") == 0 ||
	    strcmp(t->type, "stopall") == 0) {
		for (i = 0; i < t->nvmids; i++) {
			if ((g = sim_guest_find(s, t->vmids[i])) == NULL ||
			    g->lock[0] != '\0')
				continue;
			guest_power(g, strcmp(t->type, "startall") == 0, now);
		}
		return (NULL);
	}
	if (strcmp(t->type, "vzdump") == 0) {
		st = sim_storage_find(s, t->storage);
		for (i = 0; i < t->nvmids; i++) {
			g = sim_guest_find(s, t->vmids[i]);
			if (g == NULL)
				continue;
			sim_add_backup(s, t->storage, st != NULL &&
			    st->shared ? "" : t->node, g->vmid, g->lxc,
			    t->starttime, g->maxdisk / 5 + 4096 * g->vmid,
			    t->compress);
			if (st != NULL)
				sim_storage_add_used(st, sim_node_index(s,
				    t->node), g->maxdisk / 5);
		}
		return (NULL);
	}
	if (sim_backup_task(t))
		return (sim_backup_task_apply(s, t));
	if (g == NULL)
		return (xasprintf("guest %d does not exist", t->vmid));
	if (strcmp(ty, "start") == 0) {
		g->running = 1;
		g->paused = 0;
		g->started = now;
		g->cpu = 0.05;
		g->mem = g->maxmem / 3;
	} else if (strcmp(ty, "stop") == 0 || strcmp(ty, "shutdown") == 0) {
		g->running = 0;
		g->paused = 0;
		g->cpu = 0;
		g->mem = 0;
	} else if (strcmp(ty, "reboot") == 0) {
		g->started = now;
		g->paused = 0;
	} else if (strcmp(ty, "suspend") == 0)
		g->paused = 1;
	else if (strcmp(ty, "resume") == 0)
		g->paused = 0;
	else if (strcmp(ty, "snapshot") == 0) {
		if (sim_snap_add(g, &sn) != 0)
			return (xstrdup("too many snapshots"));
		snprintf(sn->name, sizeof sn->name, "%s", t->snapname);
		snprintf(sn->description, sizeof sn->description, "%s",
		    t->snapdesc);
		if (g->nsnaps > 1)
			set_str(sn->parent, sizeof sn->parent,
			    g->snaps[g->nsnaps - 2].name);
		sn->snaptime = now;
		sn->vmstate = t->vmstate && g->running;
	} else if (strcmp(ty, "rollback") == 0) {
		if ((sn = snap_find(g, t->snapname)) == NULL)
			return (xasprintf("snapshot '%s' does not exist",
			    t->snapname));
		g->running = sn->vmstate || t->flag;
		g->paused = 0;
		if (g->running)
			g->started = now;
	} else if (strcmp(ty, "delsnapshot") == 0) {
		if ((sn = snap_find(g, t->snapname)) == NULL)
			return (xasprintf("snapshot '%s' does not exist",
			    t->snapname));
		i = (int)(sn - g->snaps);
		memmove(&g->snaps[i], &g->snaps[i + 1],
		    (size_t)(g->nsnaps - i - 1) * sizeof *g->snaps);
		g->nsnaps--;
	} else if (strcmp(ty, "igrate") == 0 || strcmp(ty, "migrate") == 0) {
		snprintf(g->node, sizeof g->node, "%s", t->target);
	} else if (strcmp(ty, "clone") == 0) {
		struct sim_guest	 src = *g;

		if (sim_guest_find(s, t->newid) != NULL)
			return (xasprintf("unable to create %s %d: config "
			    "file already exists", sim_guest_kind(&src),
			    t->newid));
		/* Adding moves the array: g is not used after this. */
		if ((ng = sim_guest_add(s, t->newid)) == NULL)
			return (xstrdup("too many guests"));
		*ng = src;
		ng->vmid = t->newid;
		ng->running = ng->paused = ng->template = 0;
		ng->cpu = 0;
		ng->mem = 0;
		ng->snaps = NULL;
		ng->nsnaps = 0;
		ng->lock[0] = '\0';
		if (t->newname[0] != '\0')
			snprintf(ng->name, sizeof ng->name, "%s", t->newname);
		else {
			char *copy = xasprintf("Copy-of-%s-%s",
			    sim_guest_kind(&src), src.name);
			set_str(ng->name, sizeof ng->name, copy);
			free(copy);
		}
		if (t->target[0] != '\0')
			snprintf(ng->node, sizeof ng->node, "%s", t->target);
		sim_prov_clone(ng, &src);	/* a new MAC */
	}
	return (NULL);
}

/* Emits every script line due, and ends the task when its time is up. */
static void
task_advance(struct sim *s, struct sim_task *t, int64_t now)
{
	int64_t	 elapsed = now - t->start_ms;
	int	 pm, i;
	char	*err, *line;

	pm = t->dur_ms > 0 ? (int)(elapsed * 1000 / t->dur_ms) : 1000;
	if (pm > 1000)
		pm = 1000;
	while (t->next_line < t->nscript &&
	    t->script[t->next_line].permille <= pm) {
		if (t->fail != NULL && pm < 1000 &&
		    t->script[t->next_line].permille > 500)
			break;	/* a failing task stops half-way */
		log_add(t, t->script[t->next_line].text);
		t->next_line++;
	}
	if (elapsed < t->dur_ms)
		return;
	if (t->fail != NULL) {
		/* Guests named: each failed; none: the job itself did. */
		if (strcmp(t->type, "vzdump") == 0 && t->nvmids > 0) {
			for (i = 0; i < t->nvmids; i++) {
				line = xasprintf("ERROR: Backup of VM %d "
				    "failed - %s", t->vmids[i], t->fail);
				log_add(t, line);
				free(line);
			}
			log_add(t, "INFO: Backup job finished with errors");
			release_locks(s, t);
			task_end(t, "job errors");
			return;
		}
		release_locks(s, t);
		task_end(t, t->fail);
		return;
	}
	while (t->next_line < t->nscript)
		log_add(t, t->script[t->next_line++].text);
	release_locks(s, t);
	err = task_apply(s, t);
	if (err == NULL && strcmp(t->type, "vzdump") == 0)
		log_add(t, "INFO: Backup job finished successfully");
	task_end(t, err);
	free(err);
}

void
sim_tick(struct sim *s)
{
	int64_t	now = now_ms();
	int	i;

	for (i = 0; i < s->ntasks; i++) {
		if (s->tasks[i]->running)
			task_advance(s, s->tasks[i], now);
	}
	for (i = 0; i < s->nnodes; i++) {
		if (s->nodes[i].power != SIM_POWER_NONE &&
		    now >= s->nodes[i].power_at_ms)
			node_power_apply(s, &s->nodes[i]);
	}
}

/* Stops a running task (DELETE .../tasks/{upid}); nothing is applied. */
void
sim_task_stop(struct sim *s, struct sim_task *t, const char *why)
{
	int	i;
	char	*line;

	if (!t->running)
		return;
	if (strcmp(t->type, "vzdump") == 0) {
		for (i = 0; i < t->nvmids; i++) {
			line = xasprintf("ERROR: Backup of VM %d failed - %s",
			    t->vmids[i], why);
			log_add(t, line);
			free(line);
		}
	}
	release_locks(s, t);
	task_end(t, why);
}
