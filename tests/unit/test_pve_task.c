/*
 * Unit tests for pve_task.c that need no server: UPID parsing and the
 * percentage read from real task log lines (vzdump of PVE 7/8 and older,
 * PBS backups, live migration, drive mirror and full clone).
 */
#include <stdlib.h>
#include <string.h>

#include "exec_proxmox.h"
#include "t.h"
#include "util.h"

static void
test_upid_parse(void)
{
	struct pve_upid	 u;
	char		*node;

	T_EQ_INT(pve_upid_parse("UPID:pve1:000F1A2B:0012ABCD:6560A1B2:vzdump:"
	    "102:pvebot@pve!bot:", &u), 0);
	T_EQ_STR(u.node, "pve1");
	T_EQ_INT(u.pid, 0x000F1A2B);
	T_EQ_INT(u.pstart, 0x0012ABCD);
	T_EQ_INT(u.starttime, 0x6560A1B2);
	T_EQ_STR(u.type, "vzdump");
	T_EQ_STR(u.id, "102");
	T_EQ_STR(u.user, "pvebot@pve!bot");
	pve_upid_release(&u);

	/* An empty id (e.g. a node task) and a 9-digit pstart. */
	T_EQ_INT(pve_upid_parse("UPID:node-2:00001234:1ABCDEF01:6560A1B2:"
	    "aptupdate::root@pam:", &u), 0);
	T_EQ_STR(u.node, "node-2");
	T_EQ_STR(u.id, "");
	T_EQ_STR(u.user, "root@pam");
	pve_upid_release(&u);

	node = pve_upid_node("UPID:pve2:00001234:00001234:6560A1B2:qmigrate:"
	    "106:pvebot@pve!bot:");
	T_EQ_STR(node, "pve2");
	free(node);

	/* Missing trailing colon, short pid, bad node, spaces, junk. */
	T_EQ_INT(pve_upid_parse("UPID:pve1:000F1A2B:0012ABCD:6560A1B2:vzdump:"
	    "102:pvebot@pve!bot", &u), -1);
	T_EQ_INT(pve_upid_parse("UPID:pve1:F1A2B:0012ABCD:6560A1B2:vzdump:"
	    "102:root@pam:", &u), -1);
	T_EQ_INT(pve_upid_parse("UPID:pve/1:000F1A2B:0012ABCD:6560A1B2:"
	    "vzdump:102:root@pam:", &u), -1);
	T_EQ_INT(pve_upid_parse("UPID:pve1:000F1A2B:0012ABCD:6560A1B2:vz dump:"
	    "102:root@pam:", &u), -1);
	T_EQ_INT(pve_upid_parse("UPID:pve1:000F1A2B:0012ABCD:6560A1B2:vzdump:"
	    "102:root@pam:extra", &u), -1);
	T_EQ_INT(pve_upid_parse("101", &u), -1);
	T_EQ_INT(pve_upid_parse(NULL, &u), -1);
	T_OK(pve_upid_node("UPID:::::") == NULL);
}

static void
test_progress_vzdump(void)
{
	/* PVE 7/8 qemu backup (vma and PBS alike). */
	T_EQ_INT(pve_progress_percent("INFO:   0% (184.0 MiB of 32.0 GiB) in "
	    "3s, read: 61.3 MiB/s, write: 48.2 MiB/s"), 0);
	T_EQ_INT(pve_progress_percent("INFO:  12% (3.9 GiB of 32.0 GiB) in "
	    "30s, read: 140.2 MiB/s, write: 120.1 MiB/s"), 12);
	T_EQ_INT(pve_progress_percent("INFO: 100% (32.0 GiB of 32.0 GiB) in "
	    "4m 2s, read: 135.5 MiB/s, write: 110.3 MiB/s"), 100);
	/* PVE 5/6. */
	T_EQ_INT(pve_progress_percent("INFO: status: 45% (4831838208/"
	    "10737418240), sparse 0% (0), duration 30, read/write 160/150 "
	    "MB/s"), 45);
	/* Lines that carry a percentage that is not progress. */
	T_EQ_INT(pve_progress_percent("INFO: backup is sparse: 20.12 GiB (62%) "
	    "total zero data"), -1);
	T_EQ_INT(pve_progress_percent("INFO: transferred 32.00 GiB in 242 "
	    "seconds (135.4 MiB/s)"), -1);
	T_EQ_INT(pve_progress_percent("INFO: status = running"), -1);
	T_EQ_INT(pve_progress_percent("INFO: Starting Backup of VM 102 "
	    "(qemu)"), -1);
	T_EQ_INT(pve_progress_percent("TASK OK"), -1);
	T_EQ_INT(pve_progress_percent(""), -1);
	T_EQ_INT(pve_progress_percent(NULL), -1);
}

static void
test_progress_migration(void)
{
	/* PVE 7/8 live migration: 110.2 MiB of 4 GiB is 2.7%. */
	T_EQ_INT(pve_progress_percent("2024-03-10 10:00:05 migration active, "
	    "transferred 110.2 MiB of 4.0 GiB VM-state, 112.3 MiB/s"), 2);
	T_EQ_INT(pve_progress_percent("2024-03-10 10:00:21 migration active, "
	    "transferred 2.0 GiB of 4.0 GiB VM-state, 111.9 MiB/s"), 50);
	/* Dirty pages can push the count past the total. */
	T_EQ_INT(pve_progress_percent("2024-03-10 10:00:41 migration active, "
	    "transferred 4.5 GiB of 4.0 GiB VM-state, 98.2 MiB/s"), 100);
	/* PVE 5/6. */
	T_EQ_INT(pve_progress_percent("2019-05-01 10:00:05 migration status: "
	    "active (transferred 1073741824, remaining 3221225472), total "
	    "4294967296)"), 25);
	T_EQ_INT(pve_progress_percent("2024-03-10 10:00:40 migration status: "
	    "completed"), -1);
	T_EQ_INT(pve_progress_percent("2024-03-10 10:00:40 average migration "
	    "speed: 102.4 MiB/s - downtime 45 ms"), -1);
	/* Local disks moved with drive-mirror; full clones. */
	T_EQ_INT(pve_progress_percent("drive-scsi0: transferred 1.0 GiB of "
	    "32.0 GiB (3.12%) in 10s"), 3);
	T_EQ_INT(pve_progress_percent("drive-scsi0: transferred 32.0 GiB of "
	    "32.0 GiB (100.00%) in 5m 3s, ready"), 100);
	T_EQ_INT(pve_progress_percent("transferred 2.0 GiB of 32.0 GiB "
	    "(6.25%)"), 6);
	/* Restore of a vma archive. */
	T_EQ_INT(pve_progress_percent("progress 45% (read 4831838208 bytes, "
	    "duration 30 sec)"), 45);
	T_EQ_INT(pve_progress_percent("progress: done"), -1);
}

int
main(void)
{
	T_RUN(test_upid_parse);
	T_RUN(test_progress_vzdump);
	T_RUN(test_progress_migration);
	return t_summary();
}
