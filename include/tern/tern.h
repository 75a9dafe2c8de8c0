/* include/tern/tern.h: everything a user of tern needs, in one include. */
#ifndef TERN_TERN_H
#define TERN_TERN_H

#include "tern/craft.h"
#include "tern/sim.h"
#include "tern/stack.h"
#include "tern/stats.h"
#include "tern/trace.h"

#endif
