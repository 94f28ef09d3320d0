/*
 * monitor_disks.c - disks, ZFS pools and Ceph, through the API:
 *
 * - Disks (monitor.disks.interval, per node): /nodes/{node}/disks/list
 *   gives each disk's SMART health and wear-out (life left, as
 *   PVE::Diskmanage computes it); /nodes/{node}/disks/smart gives the
 *   counts that grow as a disk fails: reallocated, pending and offline
 *   uncorrectable sectors of an ATA disk, media errors of an NVMe disk.
 *   Their sum is kept in table metric_samples (series
 *   "disk.sectors:TARGET", one row per read, pruned after 8 days with
 *   the other samples) at each read, so "sectors gained within
 *   disks.trend_window" survives restarts and is a real measurement:
 *   a disk that stops gaining resolves once the window has passed.
 * - ZFS (monitor.zfs.interval, per node): /nodes/{node}/disks/zfs; a
 *   pool not ONLINE is read in detail (/disks/zfs/{name}) to name the
 *   devices that are not ONLINE.
 * - Ceph (monitor.ceph.interval): /cluster/ceph/status, when Ceph is
 *   installed ("not installed"/"not initialized" means no Ceph, which
 *   is no alert and no error).
 *
 * A disk is named by node and serial (device names move between boots),
 * by device name when it has no serial.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app.h"
#include "conf.h"
#include "exec_proxmox.h"
#include "jsonx.h"
#include "log.h"
#include "monitor_int.h"
#include "store.h"
#include "store_monitor.h"
#include "util.h"

static void
disk_free(struct mon_disk *d)
{
	free(d->devpath);
	free(d->model);
	free(d->serial);
	free(d->health);
}

static void
pools_free(struct mon_pool *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].health);
		free(p[i].fault);
	}
	free(p);
}

void
mon_disks_release(struct mon_node *n)
{
	size_t	 i;

	for (i = 0; i < n->ndisks; i++)
		disk_free(&n->disks[i]);
	free(n->disks);
	n->disks = NULL;
	n->ndisks = 0;
	pools_free(n->pools, n->npools);
	n->pools = NULL;
	n->npools = 0;
}

/* "sdb" of "/dev/sdb". */
static const char *
dev_short(const char *devpath)
{
	const char	*slash = strrchr(devpath, '/');

	return slash != NULL ? slash + 1 : devpath;
}

static char *
disk_target(const struct mon_node *n, const struct mon_disk *d)
{
	if (d->serial != NULL && *d->serial != '\0' &&
	    strcmp(d->serial, "unknown") != 0)
		return xasprintf("disk:%s/%s", n->name, d->serial);
	return xasprintf("disk:%s/%s", n->name, dev_short(d->devpath));
}

/* The leading number of a SMART raw value ("8", "8 (Min/Max 1/3)"). */
static int64_t
raw_count(const json_t *attr)
{
	const char	*raw = jx_str(attr, "raw", NULL);
	int64_t		 v = 0;

	if (raw == NULL)
		return json_is_number(json_object_get(attr, "raw")) ?
		    (int64_t)jx_num(attr, "raw") : -1;
	while (*raw == ' ')
		raw++;
	if (!isdigit((unsigned char)*raw))
		return -1;
	while (isdigit((unsigned char)*raw) && v < INT64_MAX / 10)
		v = v * 10 + (*raw++ - '0');
	return v;
}

/* A number after "Label:" in smartctl's text, commas allowed. */
static int64_t
text_count(const char *text, const char *label)
{
	const char	*p = text != NULL ? strstr(text, label) : NULL;
	int64_t		 v = 0;

	if (p == NULL)
		return -1;
	p += strlen(label);
	while (*p == ' ' || *p == ':')
		p++;
	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p) || *p == ','; p++) {
		if (*p != ',' && v < INT64_MAX / 10)
			v = v * 10 + (*p - '0');
	}
	return v;
}

/* Bad sectors (ATA: ids 5, 197, 198) or media errors (NVMe). */
static void
read_smart(struct monitor *m, const struct mon_node *n, struct mon_disk *d)
{
	struct pve_param	 p[] = { { "disk", d->devpath } };
	json_t			*data = NULL, *a, *e;
	char			*path, *cause = NULL;
	size_t			 i;
	int64_t			 sum = 0, v;
	int			 found = 0;

	d->sectors = -1;
	path = xasprintf("/nodes/%s/disks/smart", n->name);
	if (pve_request(m->app->pve, "GET", path, p, 1, &data, &cause) !=
	    PVE_OK || !json_is_object(data)) {
		log_debug("monitor", "smart node=%s disk=%s: %s", n->name,
		    d->devpath, cause != NULL ? cause : "not an object");
		free(cause);
		free(path);
		json_decref(data);
		return;
	}
	free(path);
	a = json_object_get(data, "attributes");
	json_array_foreach(a, i, e) {
		const char	*id = jx_str(e, "id", "");
		const char	*errstr;
		long long	 num;

		while (*id == ' ')
			id++;
		num = strtonum(id, 1, 255, &errstr);
		if (errstr != NULL || (num != 5 && num != 197 && num != 198))
			continue;
		if ((v = raw_count(e)) < 0)
			continue;
		found = 1;
		sum += v;
		if (num == 5)
			d->realloc = v;
		else if (num == 197)
			d->pending = v;
	}
	if (!found && (v = text_count(jx_str(data, "text", NULL),
	    "Media and Data Integrity Errors")) >= 0) {
		found = 1;
		sum = v;
	}
	if (found)
		d->sectors = sum;
	json_decref(data);
}

/*
 * Stores this read's count and returns what was gained since the least
 * count within the trend window (0 when it never grew).
 */
static int64_t
sector_trend(struct monitor *m, const char *target, int64_t sectors,
    int64_t now)
{
	char		*series = xasprintf("disk.sectors:%s", target);
	int64_t		 least = sectors;
	double		 min;

	metric_sample_put(m->store, series, now, (double)sectors);
	if (metric_sample_min(m->store, series, now -
	    m->conf->monitor.disks.trend_window, now, &min) == 1)
		least = (int64_t)min;
	free(series);
	return sectors > least ? sectors - least : 0;
}

void
mon_poll_disks(struct monitor *m, struct mon_node *n, int64_t now)
{
	json_t		*data = NULL, *o;
	char		*path, *cause = NULL, *target;
	struct mon_disk	*v;
	size_t		 i, nv = 0, k;

	path = xasprintf("/nodes/%s/disks/list", n->name);
	if (pve_request(m->app->pve, "GET", path, NULL, 0, &data, &cause) !=
	    PVE_OK || !json_is_array(data)) {
		mon_read_done(&n->disks_read, 0, now, "disks", n->name, cause);
		free(cause);
		free(path);
		json_decref(data);
		return;
	}
	free(path);
	v = xreallocarray(NULL, json_array_size(data) + 1, sizeof *v);
	json_array_foreach(data, i, o) {
		const char	*dev = jx_str(o, "devpath", NULL);
		const json_t	*w = json_object_get(o, "wearout");
		struct mon_disk	*d;

		if (dev == NULL || jx_str(o, "parent", NULL) != NULL)
			continue;	/* partitions */
		d = &v[nv++];
		memset(d, 0, sizeof *d);
		d->devpath = xstrdup(dev);
		d->model = xstrdup(jx_str(o, "model", "?"));
		d->serial = xstrdup(jx_str(o, "serial", ""));
		d->health = xstrdup(jx_str(o, "health", "UNKNOWN"));
		d->wear_used = json_is_number(w) && json_number_value(w) >= 0 &&
		    json_number_value(w) <= 100 ? 100 -
		    (int)json_number_value(w) : -1;
		d->sectors = -1;
		if (strcmp(d->health, "UNKNOWN") != 0)
			read_smart(m, n, d);
		if (d->sectors >= 0) {
			target = disk_target(n, d);
			d->rising = sector_trend(m, target, d->sectors, now);
			free(target);
		}
	}
	json_decref(data);
	for (k = 0; k < n->ndisks; k++)
		disk_free(&n->disks[k]);
	free(n->disks);
	n->disks = v;
	n->ndisks = nv;
	mon_read_done(&n->disks_read, 1, now, "disks", n->name, NULL);
}

/* The leaves of a zpool status tree that are not ONLINE. */
static void
pool_faults(const json_t *vdev, struct buf *b)
{
	const json_t	*kids = json_object_get(vdev, "children"), *c;
	const char	*state = jx_str(vdev, "state", NULL);
	const char	*name = jx_str(vdev, "name", "?");
	const char	*msg = jx_str(vdev, "msg", "");
	const char	*base = strrchr(name, '/');
	size_t		 i, len;

	if (json_array_size(kids) > 0) {
		json_array_foreach(kids, i, c)
			pool_faults(c, b);
		return;
	}
	if (state == NULL || strcmp(state, "ONLINE") == 0)
		return;
	base = base != NULL ? base + 1 : name;
	/* ata-MODEL_SERIAL-part1: the serial names the disk to replace,
	 * as the disk alerts do. */
	if ((str_has_prefix(base, "ata-") || str_has_prefix(base, "nvme-") ||
	    str_has_prefix(base, "scsi-") || str_has_prefix(base, "usb-")) &&
	    strrchr(base, '_') != NULL)
		base = strrchr(base, '_') + 1;
	len = strlen(base);
	if (strstr(base, "-part") != NULL)
		len = (size_t)(strstr(base, "-part") - base);
	buf_printf(b, "%s%.*s %s%s%s%s", b->len > 0 ? ", " : "", (int)len,
	    base, state, *msg ? " (" : "", msg, *msg ? ")" : "");
}

static char *
read_pool_fault(struct monitor *m, const struct mon_node *n,
    const char *pool)
{
	json_t		*data = NULL;
	char		*path, *cause = NULL;
	struct buf	 b;

	path = xasprintf("/nodes/%s/disks/zfs/%s", n->name, pool);
	if (pve_request(m->app->pve, "GET", path, NULL, 0, &data, &cause) !=
	    PVE_OK || !json_is_object(data)) {
		log_warn("monitor", "cannot read zpool status node=%s pool=%s: "
		    "%s", n->name, pool, cause != NULL ? cause : "not an object");
		free(cause);
		free(path);
		json_decref(data);
		return NULL;
	}
	free(path);
	buf_init(&b, 0);
	pool_faults(data, &b);
	json_decref(data);
	if (b.len == 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_steal(&b);
}

void
mon_poll_zfs(struct monitor *m, struct mon_node *n, int64_t now)
{
	json_t		*data = NULL, *o;
	char		*path, *cause = NULL;
	struct mon_pool	*v;
	size_t		 i, nv = 0;

	path = xasprintf("/nodes/%s/disks/zfs", n->name);
	if (pve_request(m->app->pve, "GET", path, NULL, 0, &data, &cause) !=
	    PVE_OK || !json_is_array(data)) {
		free(path);
		json_decref(data);
		/* A node without ZFS has no pools: nothing is wrong. */
		if (cause != NULL && strstr(cause, "not installed") != NULL) {
			pools_free(n->pools, n->npools);
			n->pools = NULL;
			n->npools = 0;
			mon_read_done(&n->zfs_read, 1, now, "zfs", n->name,
			    NULL);
		} else
			mon_read_done(&n->zfs_read, 0, now, "zfs", n->name,
			    cause);
		free(cause);
		return;
	}
	free(path);
	v = xreallocarray(NULL, json_array_size(data) + 1, sizeof *v);
	json_array_foreach(data, i, o) {
		const char	*name = jx_str(o, "name", NULL);
		const char	*health = jx_str(o, "health", NULL);

		if (name == NULL || health == NULL)
			continue;
		v[nv].name = xstrdup(name);
		v[nv].health = xstrdup(health);
		v[nv].fault = strcmp(health, "ONLINE") != 0 ?
		    read_pool_fault(m, n, name) : NULL;
		nv++;
	}
	json_decref(data);
	pools_free(n->pools, n->npools);
	n->pools = v;
	n->npools = nv;
	mon_read_done(&n->zfs_read, 1, now, "zfs", n->name, NULL);
}

void
mon_poll_ceph(struct monitor *m, int64_t now)
{
	struct mon_health	*h = &m->health;
	json_t			*data = NULL, *checks, *c;
	const char		*status, *code;
	char			*cause = NULL;
	struct buf		 b;

	if (pve_request(m->app->pve, "GET", "/cluster/ceph/status", NULL, 0,
	    &data, &cause) != PVE_OK || !json_is_object(data)) {
		if (cause != NULL && (strstr(cause, "not installed") != NULL ||
		    strstr(cause, "not initialized") != NULL)) {
			/* No Ceph here: nothing to watch. */
			if (h->ceph)
				log_info("monitor", "ceph is gone: %s", cause);
			h->ceph = 0;
			mon_read_done(&h->ceph_read, 1, now, "ceph", NULL,
			    NULL);
		} else
			mon_read_done(&h->ceph_read, 0, now, "ceph", NULL,
			    cause);
		free(cause);
		json_decref(data);
		return;
	}
	status = jx_str(json_object_get(data, "health"), "status", NULL);
	if (status == NULL) {
		mon_read_done(&h->ceph_read, 0, now, "ceph", NULL,
		    "no health.status in the reply");
		json_decref(data);
		return;
	}
	h->ceph = 1;
	h->ceph_level = strcmp(status, "HEALTH_OK") == 0 ? 0 :
	    strcmp(status, "HEALTH_ERR") == 0 ? 2 : 1;
	buf_init(&b, 0);
	buf_puts(&b, "");
	checks = json_object_get(json_object_get(data, "health"), "checks");
	json_object_foreach(checks, code, c) {
		const char	*msg = jx_str(json_object_get(c, "summary"),
		    "message", "");

		buf_printf(&b, "%s%s %s", b.len > 0 ? "; " : "", code, msg);
	}
	free(h->ceph_checks);
	h->ceph_checks = buf_steal(&b);
	json_decref(data);
	mon_read_done(&h->ceph_read, 1, now, "ceph", NULL, NULL);
}

/* "pve1: disk sdb (WDC WD40EFRX-68N32N0, WD-WCC7K1234)" */
static char *
disk_who(const struct mon_node *n, const struct mon_disk *d)
{
	if (d->serial != NULL && *d->serial != '\0' &&
	    strcmp(d->serial, "unknown") != 0)
		return xasprintf("%s: disk %s (%s, %s)", n->name,
		    dev_short(d->devpath), d->model, d->serial);
	return xasprintf("%s: disk %s (%s)", n->name, dev_short(d->devpath),
	    d->model);
}

static struct mon_sample *
disk_sample(struct mon_samples *s, const struct mon_node *n,
    const struct mon_disk *d, const char *metric, double v)
{
	char			*target = disk_target(n, d);
	struct mon_sample	*x = mon_sample_named(s, metric, "disk", target,
	    n->name, dev_short(d->devpath), v);

	free(target);
	return x;
}

void
mon_samples_disks(struct monitor *m, struct mon_node *n,
    struct mon_samples *s)
{
	struct mon_sample	*x;
	char			*who, d7[32];
	size_t			 i;

	/* "7 days", or 12h00m for a window of hours. */
	if (m->conf->monitor.disks.trend_window % 86400 == 0)
		snprintf(d7, sizeof d7, "%lld day%s", (long long)m->conf->
		    monitor.disks.trend_window / 86400, m->conf->monitor.disks.
		    trend_window == 86400 ? "" : "s");
	else
		format_duration(m->conf->monitor.disks.trend_window, d7,
		    sizeof d7);
	for (i = 0; n->disks_read.ok && i < n->ndisks; i++) {
		const struct mon_disk	*d = &n->disks[i];
		int			 failed;

		who = disk_who(n, d);
		/* PASSED (ATA, NVMe) or OK (SAS); UNKNOWN: no SMART. */
		failed = strcasestr(d->health, "FAIL") != NULL;
		if (failed || strcmp(d->health, "PASSED") == 0 ||
		    strcmp(d->health, "OK") == 0) {
			x = disk_sample(s, n, d, "disk.smart_failed", failed);
			x->summary = xasprintf("%s SMART %s", who, d->health);
		}
		if (d->wear_used >= 0) {
			x = disk_sample(s, n, d, "disk.wearout", d->wear_used);
			x->summary = xasprintf("%s %d%% worn out", who,
			    d->wear_used);
		}
		if (d->sectors >= 0) {
			x = disk_sample(s, n, d, "disk.sectors_rising",
			    (double)d->rising);
			x->summary = d->rising > 0 ? xasprintf("%s %" PRId64
			    " more bad sectors within %s (%" PRId64 " in all)",
			    who, d->rising, d7, d->sectors) : xasprintf("%s no "
			    "new bad sectors within %s", who, d7);
		}
		free(who);
	}
	for (i = 0; n->zfs_read.ok && i < n->npools; i++) {
		const struct mon_pool	*p = &n->pools[i];
		char			*target = xasprintf("zfs:%s/%s",
		    n->name, p->name);
		int			 bad = strcmp(p->health, "ONLINE") != 0;

		x = mon_sample_named(s, "zfs.unhealthy", "zfs", target, n->name,
		    p->name, bad);
		x->summary = xasprintf("%s: ZFS pool %s %s%s%s", n->name,
		    p->name, p->health, p->fault != NULL ? ": " : "",
		    p->fault != NULL ? p->fault : "");
		free(target);
	}
}

void
mon_samples_ceph(struct monitor *m, struct mon_samples *s)
{
	struct mon_health	*h = &m->health;
	struct mon_sample	*x;
	static const char *const names[] = { "HEALTH_OK", "HEALTH_WARN",
	    "HEALTH_ERR" };

	if (!h->ceph_read.ok || !h->ceph)
		return;
	x = mon_sample_named(s, "ceph.health", "ceph", "ceph", NULL, "ceph",
	    h->ceph_level);
	x->summary = xasprintf("Ceph %s%s%s", names[h->ceph_level],
	    h->ceph_checks != NULL && *h->ceph_checks != '\0' ? ": " : "",
	    h->ceph_checks != NULL ? h->ceph_checks : "");
}

json_t *
mon_snapshot_disks(const struct mon_node *n)
{
	json_t	*o = json_object(), *a;
	size_t	 i;

	if (n->disks_read.at > 0) {
		a = json_array();
		for (i = 0; i < n->ndisks; i++) {
			const struct mon_disk	*d = &n->disks[i];

			json_array_append_new(a, json_pack("{sssssssisI}",
			    "dev", dev_short(d->devpath), "model", d->model,
			    "health", d->health, "wear", d->wear_used,
			    "rising", (json_int_t)d->rising));
		}
		json_object_set_new(o, "disks", a);
		json_object_set_new(o, "disks_ok",
		    json_boolean(n->disks_read.ok));
	}
	if (n->zfs_read.at > 0) {
		a = json_array();
		for (i = 0; i < n->npools; i++)
			json_array_append_new(a, json_pack("{ssssss?}", "name",
			    n->pools[i].name, "health", n->pools[i].health,
			    "fault", n->pools[i].fault));
		json_object_set_new(o, "pools", a);
		json_object_set_new(o, "pools_ok",
		    json_boolean(n->zfs_read.ok));
	}
	return o;
}
