/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * AmigoGnuplot: one gnuplot run. The script and its data files live in a
 * private temporary directory that is removed when the object is freed;
 * gnuplot is spawned once, by amigo_gnuplot_run(). Used by amigo-replay's
 * and amigoctl's plots.
 */
typedef struct _AmigoGnuplot AmigoGnuplot;

/* AMIGO_ERROR_NOT_SUPPORTED saying how to install gnuplot if it is not in
 * $PATH. */
gboolean amigo_gnuplot_check (GError **error);

AmigoGnuplot *amigo_gnuplot_new (GError **error);
void amigo_gnuplot_free (AmigoGnuplot *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoGnuplot, amigo_gnuplot_free)

/* The script so far; append commands to it. */
GString *amigo_gnuplot_get_script (AmigoGnuplot *self);

/* Appends @text as a gnuplot single-quoted string (no escapes, '' is a
 * quote, line breaks become spaces). */
void amigo_gnuplot_append_quoted (GString *out, const char *text);

/* Starts the script with a PNG terminal (pngcairo if gnuplot has it) of
 * @width x @height writing to @png_path. */
void amigo_gnuplot_set_png (AmigoGnuplot *self, const char *png_path, guint width, guint height);

/* Writes @data to the file @name in the temporary directory and appends
 * its quoted path to the script. */
gboolean amigo_gnuplot_append_data (AmigoGnuplot *self, const char *name, const GString *data, GError **error);

/* Runs gnuplot on the script; the error carries gnuplot's stderr. */
gboolean amigo_gnuplot_run (AmigoGnuplot *self, GError **error);

G_END_DECLS
