/*
 * sim.h - the Proxmox VE API simulator: a loopback HTTPS server speaking
 * the subset of /api2/json that pvebot uses, with the cluster of the
 * brief ("homelab": pve1..pve3, guests 100-112, templates 9000/9001),
 * tasks with UPIDs and logs, guest locks, token privileges and injected
 * faults. It serves the tests and `pvebot demo`.
 *
 * Wire behaviour (what a client sees):
 * - Auth: `Authorization: PVEAPIToken=USER@REALM!TOKENID=SECRET`. No
 *   header: "401 No ticket"; a wrong token: "401 authentication
 *   failure"; a missing privilege: "403 Permission check failed
 *   (/vms/101, VM.PowerMgmt)". Bodies are {"data":null}.
 * - Replies are {"data": ...}. Errors carry the HTTP status, the message
 *   as status text and as "message" in the body ({"data":null,
 *   "message":"VM is locked (backup)\n"}). Unknown or malformed
 *   parameters: "400 Parameter verification failed." with
 *   {"data":null,"errors":{"param":"why"}}, using the real API's
 *   sentences. Booleans are 1/0 and nothing else ("true" is a type
 *   error, as in PVE::JSONSchema); GET/DELETE parameters in the query,
 *   POST/PUT as application/x-www-form-urlencoded.
 * - Tasks: UPID:node:PID:PSTART:STARTTIME:type:id:user@realm!token: .
 *   A task runs for task_ms and then applies its effect; it writes log
 *   lines as it goes (vzdump of a VM "INFO:  45% (...)" - like the real
 *   one, a container backup has no percentages; migration "migration
 *   active, transferred X of Y VM-state"; offline migration and full
 *   clone "transferred X of Y (NN.NN%)"), ends with "TASK OK" or
 *   "TASK ERROR: <why>", and its exitstatus is "OK" or <why> (a failed
 *   vzdump: "job errors", with "ERROR: Backup of VM N failed - <why>" in
 *   the log). A task log with no lines yet reads [{"n":1,"t":"no
 *   content"}]. vzdump skips guests of other nodes ("INFO: skip external
 *   VMs: 104") and succeeds, as the real one does. DELETE of a task ends
 *   it with "interrupted by signal" and applies nothing.
 * - Real-API choices: an action on a locked guest is "500 VM is locked
 *   (backup)" ("CT is locked (...)" for containers) at call time, and so
 *   is PUT .../config, delete=lock included (skiplock is root@pam's
 *   only: 403 for a token; the container path has no skiplock at all);
 *   starting a running VM gives a UPID whose task fails with "VM 101
 *   already running"; starting a running CT is "500 CT 101 already
 *   running"; stopping a stopped VM is a task that succeeds, a stopped CT
 *   is "500 CT 101 not running"; rollback or delete of a missing snapshot
 *   and a snapshot name already used are task failures. A node that is
 *   offline answers "595 no route to host" for every /nodes/{node}/...
 *   path; without quorum every write is "500 cluster not ready - no
 *   quorum?". GET /nodes/{node}/tasks source defaults to "archive"
 *   (finished tasks only) as in the schema; use source=all for running.
 * - Power: POST /nodes/{node}/status command=shutdown|reboot answers
 *   null and the node goes task_ms later (its guests stopped; after a
 *   reboot the onboot=1 ones start again). POST /nodes/{node}/wakeonlan
 *   is answered by the first online node (no proxyto), so it works for
 *   an offline node, refuses the answering node itself and returns the
 *   node's MAC; the node boots task_ms later and starts its onboot=1
 *   guests. POST /nodes/{node}/startall|stopall (vms filter, force,
 *   timeout) run one "startall"/"stopall" task over the node's guests
 *   in startup order (`startup: order=`, unset last; stop reversed);
 *   startall takes only onboot=1 guests unless force=1.
 *
 * Test/admin endpoints (outside /api2/json, no auth, JSON bodies):
 *   GET /_sim/calls        [{"method","path","params":{...},"status"}]
 *   DELETE /_sim/calls     forget recorded calls
 *   POST /_sim/fault       one object or an array of objects, each with
 *                          any of:
 *     {"clear":true}                      remove faults, task failures
 *     {"kind":"error"|"garbage"|"drop"|"slow"|"unauthorized"|"lost",
 *      "match":"POST *vzdump", "status":500, "message":"...",
 *      "delay_ms":2000, "count":1}        reply fault for matching calls
 *                                         ("METHOD path" glob on the path
 *                                         without /api2/json, default
 *                                         "*"; count 0 = until cleared).
 *                                         All but "lost" stop the call
 *                                         before Proxmox; "lost" does it,
 *                                         then drops the reply (or, with
 *                                         a status, answers that: a
 *                                         proxy's 502 after the fact)
 *     {"node":"pve3","online":false}      node offline / back online
 *     {"quorate":false}                   quorum lost / back
 *     {"token":"ID","revoke":"VM.PowerMgmt"} / {"token":..,"grant":..}
 *     {"fail_task":"vzdump","message":"..."} next task of that type fails
 *     {"task_ms":N}                       duration of new tasks
 *   POST /_sim/guest       {"vmid":101,"status":"running"|"stopped",
 *                          "lock":"backup"|"", "node":"pve2",
 *                          "tags":"a;b", "onboot":true,
 *                          "startup":"order=2,down=60"} (any subset)
 *   POST /_sim/snapshot    {"vmid":101,"name":"auto-1","snaptime":N,
 *                          "description":".."}: a snapshot taken then
 *   POST /_sim/metrics     one object or an array: {"node":"pve1",
 *                          "cpu":0.9,"mem":N,"maxmem":N,"disk":N,
 *                          "maxdisk":N} or {"vmid":102,...} or
 *                          {"storage":"nas-backup","disk":N,"maxdisk":N}
 *   POST /_sim/health      one object or an array; scripted health:
 *     {"node":"pve1","disk":"/dev/sdb","health":"FAILED","wearout":5,
 *      "reallocated":8,"pending":2,"uncorrectable":1}  SMART of a disk
 *      (any subset; "remove":true takes it away, "model" adds one)
 *     {"node":"pve1","pool":"tank","device":"sdc",
 *      "device_state":"FAULTED"}          a vdev of a ZFS pool
 *     {"node":"pve1","certificate":"pveproxy-ssl.pem","days_left":9}
 *     {"node":"pve1","update":"openssl","version":"3.5.4-1~deb13u2",
 *      "old":"3.5.4-1~deb13u1","security":true} / {"node":..,
 *      "updates":"none"}                  pending packages
 *     {"node":"pve1","kernel_installed":"6.17.4-1-pve"} /
 *      {"node":..,"kernel_running":..}   kernels (a reboot)
 *     {"backup_jobs":[{"id":..,"all":true,"exclude":"104"},
 *      {"id":..,"vmid":"101,102"}]}       the backup jobs (default: one
 *                                         job of every guest)
 *     {"backup_failed":{"node":"pve1","vmids":[102],"message":".."}}
 *                                         a vzdump task that ended with
 *                                         errors, in the task list
 *     {"replication":"101-0","target":"pve2","fail_count":3,
 *      "error":"..","last_sync_ago":7200 (or "last_sync":EPOCH),
 *      "disable":false,"remove":false}
 *     {"ceph":"HEALTH_WARN","checks":[{"code":"OSD_DOWN",
 *      "message":"1 osds down"}]} / {"ceph":"absent"} (the default)
 *     {"join":"pve4"} / {"leave":"pve4"}  cluster membership
 *   POST /_sim/backup      one object or an array: {"storage":"nas-backup",
 *                          "vmid":101,"ctime":EPOCH,"lxc":false,
 *                          "protected":false,"node":"pve1"} adds a backup
 *                          (node: local storages only); {"storage":..,
 *                          "vmid":..,"clear":true} removes that guest's
 *                          backups there. Prune (dry run and delete) and
 *                          restore: see src/sim/sim_backup.c
 *   GET /_sim/state        the whole state (guests, tasks) for debugging
 * The health endpoints served: /cluster/backup-info/not-backed-up,
 * /cluster/ceph/status, /nodes/{node}/disks/list, .../disks/smart,
 * .../disks/zfs, .../disks/zfs/{name}, .../replication,
 * .../replication/{id}/status, .../certificates/info, .../apt/update,
 * .../apt/versions, .../apt/changelog.
 * A scenario file is a JSON object {"fault":[...], "guest":[...],
 * "metrics":[...], "health":[...], "tokens":[{"id":..,"secret":..,
 * "privs":[..]}], "generate_guests":N} whose entries are applied as the
 * endpoints above at start; generate_guests (like --guests N) fills the
 * cluster up to N guests spread over the nodes (VMIDs from 10000, the
 * same on every run), for tests and benchmarks at scale (up to 100,000).
 *
 * Thread-safe (one lock around the state); bounded (task list, call log
 * and bodies are capped); sim_stop() frees everything.
 */
#ifndef PVEBOT_SIM_H
#define PVEBOT_SIM_H

struct sim;

struct sim_opts {
	int		 port;		/* 0 = a free port */
	int		 tls;		/* 1 = HTTPS (the default in sim_main) */
	const char	*token_id;	/* NULL = "pvebot@pve!bot" */
	const char	*secret;	/* NULL = no default token */
	int		 task_ms;	/* task duration; 0 = 1500 */
	const char	*scenario;	/* JSON file applied at start; NULL */
	int		 guests;	/* 0, or the number of guests in all:
					   the homelab's 13 and generated
					   ones (VMIDs 10000...) up to it */
};

struct sim	*sim_start(const struct sim_opts *, char **cause);
void		 sim_stop(struct sim *);
int		 sim_port(const struct sim *);
/* Connections (TLS handshakes) the simulator accepted so far. */
unsigned long long sim_connections(struct sim *);
/* "AA:BB:..." of the certificate; NULL without TLS. */
const char	*sim_fingerprint(const struct sim *);
const char	*sim_cert_pem(const struct sim *);
/*
 * Applies an admin request in-process, as POST /_sim/<what> would
 * (what: "fault", "guest", "metrics", "health", "backup"); 0, or -1 with *cause.
 */
int		 sim_admin(struct sim *, const char *what, const char *json,
		    char **cause);

/*
 * `pvebot sim --port N --token-id ID --secret-env NAME --task-ms N
 * --scenario FILE --guests N [--no-tls]`: prints "sim: listening port=N
 * fingerprint=AA:BB..." and serves until SIGTERM or SIGINT.
 */
int		 sim_main(int argc, char **argv);

/*
 * Calls cb once per (method, path template, parameter) the simulator
 * accepts, with the parameter's schema type ("boolean", "integer",
 * "number", "string"), whether it is optional, and whether it is part of
 * the path. For endpoints without parameters cb gets param NULL. Used by
 * the test that holds the simulator to the official schema.
 */
void		 sim_api_walk(void (*cb)(void *arg, const char *method,
		    const char *path, const char *param, const char *type,
		    int optional, int in_path, const char *enum_values),
		    void *arg);

#endif
