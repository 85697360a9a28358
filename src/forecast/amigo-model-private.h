/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "amigo/amigo-model.h"

G_BEGIN_DECLS

/* Model classes, one per amigo-model-<name>.c; listed in amigo-model.c. */

G_END_DECLS
