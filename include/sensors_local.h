/*
 * sensors_local.h - libsensors readings of this machine
 * (monitor/sensors_local.c), in the shapes of sensors.h.
 */
#ifndef PVEBOT_SENSORS_LOCAL_H
#define PVEBOT_SENSORS_LOCAL_H

#include "sensors.h"

/* The local readings as `sensors -j` JSON; caller frees. */
char	*sensors_local_json(char **cause);
/* Parsed and filtered like remote readings; 0 or -1 with *cause. */
int	 sensors_local_read(const struct sensor_filter *,
	    struct sensors_seen *, struct sensor_list *, char **cause);

#endif
