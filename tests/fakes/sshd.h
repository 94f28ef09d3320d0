/*
 * sshd.h - a real OpenSSH server for tests, on a free 127.0.0.1 port.
 *
 * fake_sshd_start() makes a folder under the current case's t_tmpdir(),
 * generates an ed25519 host key and user key with ssh-keygen, writes
 * sshd_config, authorized_keys and known_hosts, installs stand-in
 * scripts for the programs SSH-backed commands run (pvecm, qm, pct,
 * sensors, nvidia-smi, lvcreate, lvs, lvremove, systemctl, apt, sudo,
 * plus the test helpers echoargs, progress and ticker) in a bin folder
 * that sshd puts first on the remote PATH, and starts /usr/sbin/sshd -D
 * -e. The login user is the current user. Every stand-in appends its argv, one
 * "[arg]" per argument, to calls.log in the folder.
 *
 * Missing sshd or ssh-keygen is an error with a clear message, never a
 * silent skip.
 */
#ifndef PVEBOT_FAKE_SSHD_H
#define PVEBOT_FAKE_SSHD_H

#include "conf.h"
#include "t.h"

struct fake_sshd {
	char		 dir[400];
	char		 bin[512];
	char		 config[512];
	char		 host_key[512];
	char		 user_key[512];
	char		 known_hosts[512];
	char		 calls[512];	/* argv log of the stand-ins */
	char		 user[64];
	char		 address[16];	/* "127.0.0.1" */
	int		 port;
	struct t_proc	 proc;
};

int	fake_sshd_start(struct fake_sshd *, char **cause);
void	fake_sshd_stop(struct fake_sshd *);

/* Writes an executable stand-in into the remote PATH folder. */
void	fake_sshd_stub(struct fake_sshd *, const char *name,
	    const char *script);
/* Writes a file into the sshd folder; returns its path (caller frees). */
char	*fake_sshd_file(struct fake_sshd *, const char *name,
	    const char *content, int mode);
/* Fills a host entry pointing at this server (strings owned by fake). */
void	fake_sshd_host(struct fake_sshd *, struct conf_ssh_host *,
	    const char *name, const char *node);
/* The stand-ins' argv log so far; caller frees. */
char	*fake_sshd_calls(const struct fake_sshd *);
/*
 * Generates another ed25519 key pair at dir/name (and name.pub); returns
 * the public key's "ssh-ed25519 AAAA..." part, caller frees.
 */
char	*fake_sshd_keygen(struct fake_sshd *, const char *name, char **cause);

/*
 * A started server plus an ssh config that reaches it: one host named
 * "pve1-host" for the Proxmox node "pve1", connect timeout 5 s, command
 * timeout 20 s, default output cap, the system ssh client.
 */
struct fake_ssh_env {
	struct fake_sshd	 sshd;
	struct conf_ssh_host	 host;
	struct conf_ssh		 cs;
};
int	fake_ssh_env_start(struct fake_ssh_env *, char **cause);
void	fake_ssh_env_stop(struct fake_ssh_env *);

#endif
