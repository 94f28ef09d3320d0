/*
 * chat_discord.h - what the two halves of the Discord connector share:
 * chat_discord.c (the connector, its REST client with rate limits, the
 * dispatch worker) and chat_discord_gateway.c (the Gateway WebSocket
 * client on the libwebsockets loop). Private to src/chat and the tests.
 */
#ifndef PVEBOT_CHAT_DISCORD_H
#define PVEBOT_CHAT_DISCORD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct connector;
struct dc;
struct dc_gateway;

/* Gateway intents pvebot asks for (discord-gateway.json "intents"). */
#define DC_INTENT_GUILDS		(1 << 0)
#define DC_INTENT_GUILD_MESSAGES	(1 << 9)
#define DC_INTENT_DIRECT_MESSAGES	(1 << 12)
#define DC_INTENT_MESSAGE_CONTENT	(1 << 15)
#define DC_INTENTS	(DC_INTENT_GUILDS | DC_INTENT_GUILD_MESSAGES | \
	DC_INTENT_DIRECT_MESSAGES | DC_INTENT_MESSAGE_CONTENT)

/* Discord's epoch for snowflakes, in UNIX milliseconds. */
#define DC_EPOCH_MS	1420070400000LL

/* Where the gateway resumes from: kept in the "discord" offset. */
struct dc_session {
	char	*session_id;
	char	*resume_url;
	int64_t	 seq;		/* last sequence seen, 0 = none */
};

/*
 * Called on the gateway thread for every dispatch (op 0) with the
 * session as it stands after it; must not block (no REST). A frame that
 * cannot be read comes as type GW_UNREADABLE with no data: it is skipped
 * and audited.
 */
#define GW_UNREADABLE	"PVEBOT_UNREADABLE"

typedef void (*dc_dispatch_cb)(void *arg, const char *type, json_t *data,
    const struct dc_session *);

/* The gateway: owns a libwebsockets context and its thread. */
struct dc_gateway *dc_gateway_create(const char *token, dc_dispatch_cb,
		    void *arg);
/* Starts at url (from GET /gateway/bot), resuming `saved` if set. */
int		 dc_gateway_start(struct dc_gateway *, const char *url,
		    const struct dc_session *saved, char **cause);
void		 dc_gateway_stop(struct dc_gateway *);
void		 dc_gateway_free(struct dc_gateway *);
/* The fatal error that ended the gateway (4004, 4014...), or NULL;
 * caller frees. */
char		*dc_gateway_fatal(struct dc_gateway *);
/* Sets the backoff base for reconnects (tests shorten it). */
void		 dc_gateway_set_backoff(struct dc_gateway *,
		    int64_t base_ms, int64_t cap_ms);

/*
 * Tests and fuzzing (chat_feed.h): one frame through the receive path of
 * a gateway that was never started (no connection: what it would send
 * is dropped, its timers never run). 0, or -1 when it is running.
 */
int		 dc_gateway_feed(struct dc_gateway *, const char *frame,
		    size_t len);

/* Connector extras the tests and the core use. */
/*
 * Bulk-overwrites the guild slash commands of every configured guild
 * with `commands` (a JSON array of application commands, as
 * cmd_export_discord() builds). Returns a chat_result.
 */
int	 chat_discord_register(struct connector *, json_t *commands,
	    char **cause);
/* Commands to register at READY (a reference is taken); NULL = none. */
void	 chat_discord_set_commands(struct connector *, json_t *commands);
/* Shortens the reconnect backoff (tests); before start. */
void	 chat_discord_set_backoff(struct connector *, int64_t base_ms,
	    int64_t cap_ms);
/* Why the connector stopped for good, or NULL; caller frees. */
char	*chat_discord_fatal(struct connector *);
/* When a global rate-limit hold ends (now_ms() clock), 0 when there has
 * been none: tests wait for it to know a 429 was taken in. */
int64_t	 chat_discord_global_until(struct connector *);
/* Escapes Discord Markdown in plain text; caller frees. */
char	*chat_discord_escape(const char *);
/* UNIX milliseconds from a snowflake id; 0 when not a snowflake. */
int64_t	 chat_discord_snowflake_ms(const char *id);
/* The canonical command line of an APPLICATION_COMMAND interaction's
 * data, options in the order `commands` declares them; caller frees. */
char	*chat_discord_slash_text(json_t *data, json_t *commands);

#endif
