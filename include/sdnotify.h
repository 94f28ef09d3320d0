/*
 * sdnotify.h - telling systemd how the daemon is doing (Type=notify):
 * the sd_notify(3) datagram protocol without libsystemd.
 *
 * sdnotify_init() reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID
 * once, while the process is still single-threaded, and removes them
 * from the environment so the programs pvebot starts (ssh) do not
 * inherit them. Without NOTIFY_SOCKET every call is a no-op that
 * returns 0, so the daemon runs the same outside systemd.
 */
#ifndef PVEBOT_SDNOTIFY_H
#define PVEBOT_SDNOTIFY_H

#include <stdint.h>

void	sdnotify_init(void);
/*
 * Sends one datagram of "KEY=VALUE" lines ("READY=1", "WATCHDOG=1",
 * "STATUS=...", "STOPPING=1"). 0 when sent or when not under systemd;
 * -1 with *cause when the socket refused it (cause may be NULL).
 */
int	sdnotify_send(const char *state, char **cause);
/*
 * The watchdog timeout systemd expects pings within, in microseconds;
 * 0 when there is no watchdog for this process.
 */
int64_t	sdnotify_watchdog_usec(void);

#endif
