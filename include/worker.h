/*
 * worker.h - what the workers ask of the monitor part: local sensor
 * readings (libsensors) and the digest text.
 */
#ifndef PVEBOT_WORKER_H
#define PVEBOT_WORKER_H

struct app;
struct store;

/* Sensors of the machine pvebot runs on, as chat text; caller frees. */
char	*worker_local_sensors(struct app *, char **cause);
/* The daily digest, built now; caller frees. */
char	*worker_digest(struct app *, struct store *, char **cause);

#endif
