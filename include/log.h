/*
 * log.h - one logger for every part: `key=value` lines on stderr with a
 * timestamp, a level and the part as prefix; under journald (stderr is
 * the stream JOURNAL_STREAM names) a `<N>` syslog priority prefix
 * replaces the timestamp.
 *
 * Every secret that pvebot loads is registered with log_add_secret();
 * each line is scrubbed of all registered secrets before it is written,
 * so a token that slips into an error message (Telegram puts it in every
 * URL) never reaches a log.
 */
#ifndef PVEBOT_LOG_H
#define PVEBOT_LOG_H

#include <stdarg.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void	log_set_level(enum log_level);
int	log_parse_level(const char *, enum log_level *);
void	log_add_secret(const char *);
/* Replaces every registered secret in s with "***"; caller frees. */
char	*log_scrub(const char *s);

void	log_msg(enum log_level, const char *part, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	log_vmsg(enum log_level, const char *part, const char *, va_list)
	    __attribute__((format(printf, 3, 0)));
void	log_fatal(const char *part, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3), noreturn));

#define log_debug(part, ...) log_msg(LOG_DEBUG, part, __VA_ARGS__)
#define log_info(part, ...) log_msg(LOG_INFO, part, __VA_ARGS__)
#define log_warn(part, ...) log_msg(LOG_WARN, part, __VA_ARGS__)
#define log_error(part, ...) log_msg(LOG_ERROR, part, __VA_ARGS__)

#endif
