#ifndef SNAPORCH_CYAML_SHIM_H
#define SNAPORCH_CYAML_SHIM_H

/* libyaml, for the YAML layer. */
#include <yaml.h>

#endif
