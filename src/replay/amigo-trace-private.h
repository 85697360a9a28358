/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Internals of the trace readers (replay/ and tests only): the text
 * scanning they share (amigo-trace-text.c), the trace object and its grid
 * (amigo-trace.c), and one reader per format
 * (amigo-trace-{amigo,bitbrains,planetlab}.c), listed in amigo-trace.c. */

#include "amigo-trace.h"

G_BEGIN_DECLS

#define MAX_FIELDS 64
#define MAX_NUMBER_LEN 64
/* Timestamps above this many seconds (year 5138) are taken as milliseconds. */
#define MSEC_THRESHOLD 1e11
/* Refuse times further than this from the epoch (about 317,000 years). */
#define MAX_ABS_TIME_S 1e13

/* One parsed row before it is put on the grid; time in seconds. */
typedef struct {
  double time_s;
  double values[AMIGO_RESOURCE_LAST];
} AmigoTraceRow;

typedef struct {
  const char *p;
  const char *end;
  guint lineno;
} AmigoTraceLineReader;

typedef struct {
  const char *p;
  gsize len;
} AmigoTraceField;

typedef enum {
  AMIGO_TRACE_NUMBER_OK,
  AMIGO_TRACE_NUMBER_EMPTY,
  AMIGO_TRACE_NUMBER_BAD,
} AmigoTraceNumber;

/* ---- text scanning (amigo-trace-text.c) ---------------------------------- */

void amigo_trace_text_reader_init (AmigoTraceLineReader *reader, const char *data, gsize len);
/* The next line without its end of line; FALSE at the end. */
gboolean amigo_trace_text_next_line (AmigoTraceLineReader *reader, const char **ret_line, gsize *ret_len);
void amigo_trace_text_trim (const char **p, gsize *len);
gboolean amigo_trace_text_is_blank (const char *p, gsize len);
/* Splits @line at @sep into at most MAX_FIELDS @fields; returns how many. */
gsize amigo_trace_text_split (const char *line, gsize len, char sep, AmigoTraceField *fields);
/* @p as printable text for a message, cut after 40 characters. */
char *amigo_trace_text_quote (const char *p, gsize len);
/* Locale-free; accepts what strtod accepts (scientific notation), refuses
 * trailing garbage, NaN and infinities. */
AmigoTraceNumber amigo_trace_text_number (const char *p, gsize len, double *ret_value);
void amigo_trace_text_line_error (GError **error, const char *path, guint lineno, const char *format, ...)
  G_GNUC_PRINTF (4, 5);
/* Parses field @f as a non-negative number; an empty field is NAN when
 * @allow_empty, an error otherwise. */
gboolean amigo_trace_text_field_number (const AmigoTraceField *f, gboolean allow_empty, const char *column,
                                        const char *path, guint lineno, double *ret_value, GError **error);

/* ---- the trace (amigo-trace.c) --------------------------------------------- */

AmigoTrace *amigo_trace_new (const char *path, AmigoTraceFormat format);
gboolean amigo_trace_rows_append (GArray *rows, const AmigoTraceRow *row, const char *path, guint lineno,
                                  GError **error);
/* Puts @rows (in file order) on a grid of @step_s seconds starting at the
 * first row (see amigo-trace.c). */
gboolean amigo_trace_regrid (AmigoTrace *trace, GArray *rows, double step_s, const gboolean *has, GError **error);

/* ---- the readers, one per format ------------------------------------------ */

/* Does the first line (@line, @len bytes) say the file is in this format? */
gboolean amigo_trace_amigo_detect (const char *line, gsize len);
gboolean amigo_trace_bitbrains_detect (const char *line, gsize len);
gboolean amigo_trace_planetlab_detect (const char *line, gsize len);
AmigoTrace *amigo_trace_amigo_parse (const char *path, const char *data, gsize len, GError **error);
AmigoTrace *amigo_trace_bitbrains_parse (const char *path, const char *data, gsize len, GError **error);
AmigoTrace *amigo_trace_planetlab_parse (const char *path, const char *data, gsize len, GError **error);

G_END_DECLS
