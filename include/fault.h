/*
 * fault.h - crash points for the crash tests (util/fault.c).
 *
 * PVEBOT_CRASH_AT=NAME[:N] in the environment makes the N-th (default
 * first) passage of fault_point(NAME) end the process at once with
 * _exit(137), as SIGKILL would: no cleanup, no flush, exactly what a
 * power cut or the OOM killer leaves behind. Without the variable a
 * crash point costs one branch. The points are named where they are:
 *
 *   step.intent     a step's intent is committed, its request not sent
 *   step.sent       Proxmox answered the request, its UPID not stored
 *   step.snapshot   a safety snapshot's task is being followed
 *   send.done       the platform took a message, the outbox not updated
 *
 * PVEBOT_FAIL_AT=NAME[:N] makes the first N (default 1) passages of
 * fault_fail(NAME) return 1: the write it guards is treated as failed,
 * as a full disk would make it fail. Points:
 *
 *   worker.finish   the transaction that records a job's outcome
 */
#ifndef PVEBOT_FAULT_H
#define PVEBOT_FAULT_H

void	fault_init(void);		/* reads the environment, once */
void	fault_point(const char *name);
int	fault_fail(const char *name);

#endif
