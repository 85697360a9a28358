/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "amigo/amigo-model.h"
#include "amigo/amigo-selector.h"

G_BEGIN_DECLS

/* Tests only: compete among @classes (NULL-terminated, borrowed) instead of
 * the registry (amigo_model_classes()). NULL restores the registry. */
void amigo_selector_set_classes (AmigoSelector *self, const AmigoModelClass *const *classes);

G_END_DECLS
