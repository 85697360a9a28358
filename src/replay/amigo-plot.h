/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "amigo/amigo-series.h"
#include "amigo-evaluate.h"

G_BEGIN_DECLS

/**
 * AmigoPlotLine:
 * @name: method name, shown in the key.
 * @method: the method index in the #AmigoTrackPoint entries to draw.
 */
typedef struct {
  const char *name;
  guint method;
} AmigoPlotLine;

gboolean amigo_plot_write (const char *png_path, const char *title, const char *ylabel, const AmigoSeries *actual,
                           const GArray *track, const AmigoPlotLine *lines, gsize n_lines, GError **error);

G_END_DECLS
