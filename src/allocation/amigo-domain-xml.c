/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-domain-xml.h"

#include <errno.h>
#include <string.h>

#include "amigo-error.h"
#include "amigo-free.h"

/* ---- declared size ------------------------------------------------------ */

typedef enum {
  FIELD_NONE,
  FIELD_NAME,
  FIELD_UUID,
  FIELD_VCPU,
  FIELD_MEMORY,
  FIELD_CURRENT_MEMORY,
} Field;

typedef struct {
  guint depth;
  GPtrArray *path;               /* element name per depth */
  Field field;
  GString *text;
  char *unit;                    /* unit attribute of the memory element being read */
  char *vcpu_current;
  gboolean seen[FIELD_CURRENT_MEMORY + 1];
  AmigoDomainSize *size;
} SizeState;

void
amigo_domain_size_free (AmigoDomainSize *self)
{
  if (self == NULL)
    return;
  amigo_free_fields (&self->name, &self->workload, &self->request, &self->metadata_problem, NULL);
  g_free (self);
}

static const struct {
  const char *name;
  guint64 factor;
} memory_units[] = {
  { "b", 1 }, { "bytes", 1 },
  { "KB", G_GUINT64_CONSTANT (1000) }, { "k", G_GUINT64_CONSTANT (1) << 10 }, { "KiB", G_GUINT64_CONSTANT (1) << 10 },
  { "MB", G_GUINT64_CONSTANT (1000000) }, { "M", G_GUINT64_CONSTANT (1) << 20 }, { "MiB", G_GUINT64_CONSTANT (1) << 20 },
  { "GB", G_GUINT64_CONSTANT (1000000000) }, { "G", G_GUINT64_CONSTANT (1) << 30 }, { "GiB", G_GUINT64_CONSTANT (1) << 30 },
  { "TB", G_GUINT64_CONSTANT (1000000000000) }, { "T", G_GUINT64_CONSTANT (1) << 40 }, { "TiB", G_GUINT64_CONSTANT (1) << 40 },
  { "PB", G_GUINT64_CONSTANT (1000000000000000) }, { "P", G_GUINT64_CONSTANT (1) << 50 }, { "PiB", G_GUINT64_CONSTANT (1) << 50 },
  { "EB", G_GUINT64_CONSTANT (1000000000000000000) }, { "E", G_GUINT64_CONSTANT (1) << 60 }, { "EiB", G_GUINT64_CONSTANT (1) << 60 },
};

static gboolean
parse_count (const char *text, guint64 max, guint64 *ret)
{
  char *end = NULL;
  guint64 v;

  if (text == NULL || !g_ascii_isdigit (*text))
    return FALSE;
  errno = 0;
  v = g_ascii_strtoull (text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v > max)
    return FALSE;
  *ret = v;
  return TRUE;
}

gboolean
amigo_domain_xml_parse_memory (const char *value, const char *unit, guint64 *ret_bytes, GError **error)
{
  g_autofree char *trimmed = g_strstrip (g_strdup (value != NULL ? value : ""));
  guint64 factor = 0, n;

  if (unit == NULL)
    unit = "KiB";
  /* libvirt reads units case-insensitively: "kb" is 1000, "k" and "kib"
   * are 1024. */
  for (gsize i = 0; i < G_N_ELEMENTS (memory_units); i++) {
    if (g_ascii_strcasecmp (unit, memory_units[i].name) == 0) {
      factor = memory_units[i].factor;
      break;
    }
  }
  if (factor == 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                 "unknown memory unit '%s' (accepted: b, bytes, KB, k, KiB, MB, M, MiB, GB, G, GiB, "
                 "TB, T, TiB, PB, P, PiB, EB, E, EiB)", unit);
    return FALSE;
  }
  if (!parse_count (trimmed, G_MAXUINT64, &n)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "memory size '%s' is not a whole number", trimmed);
    return FALSE;
  }
  if (n > G_MAXUINT64 / factor) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "memory size '%s %s' does not fit in 64 bits",
                 trimmed, unit);
    return FALSE;
  }
  *ret_bytes = n * factor;
  return TRUE;
}

static const char *
find_attr (const char **names, const char **values, const char *name)
{
  for (guint i = 0; names[i] != NULL; i++)
    if (strcmp (names[i], name) == 0)
      return values[i];
  return NULL;
}

static gboolean
path_is (SizeState *st, const char *parent, const char *grandparent)
{
  guint n = st->path->len;
  if (n < 2 || strcmp (g_ptr_array_index (st->path, n - 2), parent) != 0)
    return FALSE;
  return grandparent == NULL ? n == 2 : n == 3 && strcmp (g_ptr_array_index (st->path, n - 3), grandparent) == 0;
}

static void
size_start (GMarkupParseContext *ctx, const char *element, const char **names, const char **values,
            gpointer user_data, GError **error)
{
  SizeState *st = user_data;
  Field f = FIELD_NONE;

  st->depth++;
  g_ptr_array_add (st->path, g_strdup (element));
  if (st->depth == 1) {
    if (strcmp (element, "domain") != 0)
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                   "domain XML starts with <%s>, expected <domain>", element);
    return;
  }
  if (st->field != FIELD_NONE) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "unexpected element <%s> inside <%s>",
                 element, (char *) g_ptr_array_index (st->path, st->path->len - 2));
    return;
  }
  if (path_is (st, "devices", "domain")) {
    if (strcmp (element, "interface") == 0) {
      st->size->n_interfaces++;
    } else if (strcmp (element, "disk") == 0) {
      const char *device = find_attr (names, values, "device");
      if (device == NULL || strcmp (device, "disk") == 0)
        st->size->n_disks++;
    }
    return;
  }
  if (!path_is (st, "domain", NULL))
    return;
  if (strcmp (element, "name") == 0)
    f = FIELD_NAME;
  else if (strcmp (element, "uuid") == 0)
    f = FIELD_UUID;
  else if (strcmp (element, "vcpu") == 0)
    f = FIELD_VCPU;
  else if (strcmp (element, "memory") == 0)
    f = FIELD_MEMORY;
  else if (strcmp (element, "currentMemory") == 0)
    f = FIELD_CURRENT_MEMORY;
  if (f == FIELD_NONE)
    return;
  if (st->seen[f]) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "<%s> appears twice in the domain XML", element);
    return;
  }
  st->seen[f] = TRUE;
  st->field = f;
  g_string_truncate (st->text, 0);
  g_clear_pointer (&st->unit, g_free);
  st->unit = g_strdup (find_attr (names, values, "unit"));
  if (f == FIELD_VCPU)
    st->vcpu_current = g_strdup (find_attr (names, values, "current"));
}

static gboolean
finish_field (SizeState *st, GError **error)
{
  g_autofree char *text = g_strstrip (g_strdup (st->text->str));
  AmigoDomainSize *size = st->size;
  g_autoptr(GError) local = NULL;
  guint64 n;

  switch (st->field) {
  case FIELD_NAME:
    if (*text == '\0') {
      g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "<name> is empty");
      return FALSE;
    }
    size->name = g_steal_pointer (&text);
    return TRUE;
  case FIELD_UUID:
    /* libvirt writes the canonical form; amigo keys reservations by it. */
    if (!g_uuid_string_is_valid (text)) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "<uuid> '%s' is not a UUID", text);
      return FALSE;
    }
    {
      g_autofree char *lower = g_ascii_strdown (text, -1);
      g_strlcpy (size->uuid, lower, sizeof size->uuid);
    }
    return TRUE;
  case FIELD_VCPU:
    /* libvirt allows at most a few thousand vCPUs; 65535 bounds the prior. */
    if (!parse_count (text, 65535, &n) || n == 0) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "<vcpu> '%s' is not a count from 1 to 65535", text);
      return FALSE;
    }
    size->vcpus_max = size->vcpus = (guint) n;
    if (st->vcpu_current != NULL) {
      if (!parse_count (st->vcpu_current, size->vcpus_max, &n) || n == 0) {
        g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                     "<vcpu current='%s'> is not a count from 1 to %u", st->vcpu_current, size->vcpus_max);
        return FALSE;
      }
      size->vcpus = (guint) n;
    }
    return TRUE;
  case FIELD_MEMORY:
  case FIELD_CURRENT_MEMORY:
    if (!amigo_domain_xml_parse_memory (text, st->unit, &n, &local)) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "<%s>: %s",
                   st->field == FIELD_MEMORY ? "memory" : "currentMemory", local->message);
      return FALSE;
    }
    if (st->field == FIELD_MEMORY)
      size->memory_bytes = n;
    else
      size->current_memory_bytes = n;
    return TRUE;
  case FIELD_NONE:
  default:
    return TRUE;
  }
}

static void
size_end (GMarkupParseContext *ctx, const char *element, gpointer user_data, GError **error)
{
  SizeState *st = user_data;

  if (st->field != FIELD_NONE && st->depth == 2) {
    finish_field (st, error);
    st->field = FIELD_NONE;
  }
  g_ptr_array_remove_index (st->path, st->path->len - 1);
  st->depth--;
}

static void
size_text (GMarkupParseContext *ctx, const char *text, gsize len, gpointer user_data, GError **error)
{
  SizeState *st = user_data;

  if (st->field != FIELD_NONE)
    g_string_append_len (st->text, text, (gssize) len);
}

/* GMarkup says "Error on line L char C: ..."; keep the position, say the
 * rest our way. */
static void
set_markup_error (GError **error, const GError *local)
{
  const char *msg = local->message, *colon = strstr (msg, ": ");

  if (local->domain == AMIGO_ERROR) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "domain XML: %s", msg);
  } else if (g_str_has_prefix (msg, "Error on ") && colon != NULL) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "domain XML is not well-formed (%.*s): %s",
                 (int) (colon - msg - 9), msg + 9, colon + 2);
  } else {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "domain XML is not well-formed: %s", msg);
  }
}

static void
read_metadata (AmigoDomainSize *size, const char *xml)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(AmigoMetadata) md = amigo_metadata_parse_domain_xml (xml, &local);

  if (md == NULL) {
    if (!g_error_matches (local, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND))
      size->metadata_problem = g_strdup (local->message);
    return;
  }
  size->workload = g_steal_pointer (&md->workload);
  size->request = g_steal_pointer (&md->reservation);
  size->gpu_memory_gib = md->gpu_memory_gib;
}

AmigoDomainSize *
amigo_domain_size_parse (const char *xml, GError **error)
{
  static const GMarkupParser parser = { size_start, size_end, size_text, NULL, NULL };
  g_autoptr(GMarkupParseContext) ctx = NULL;
  g_autoptr(GError) local = NULL;
  g_autoptr(AmigoDomainSize) size = g_new0 (AmigoDomainSize, 1);
  g_autoptr(GPtrArray) path = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) text = g_string_new (NULL);
  SizeState st = { 0 };
  gsize len;

  if (xml == NULL || *xml == '\0') {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "domain XML is empty");
    return NULL;
  }
  len = strnlen (xml, AMIGO_DOMAIN_XML_MAX_BYTES + 1);
  if (len > AMIGO_DOMAIN_XML_MAX_BYTES) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "domain XML is larger than the limit of %d bytes",
                 (int) AMIGO_DOMAIN_XML_MAX_BYTES);
    return NULL;
  }
  size->gpu_memory_gib = NAN;
  st.path = path;
  st.text = text;
  st.size = size;
  ctx = g_markup_parse_context_new (&parser, G_MARKUP_PREFIX_ERROR_POSITION, &st, NULL);
  if (!g_markup_parse_context_parse (ctx, xml, (gssize) len, &local) ||
      !g_markup_parse_context_end_parse (ctx, &local)) {
    g_free (st.unit);
    g_free (st.vcpu_current);
    set_markup_error (error, local);
    return NULL;
  }
  g_free (st.unit);
  g_free (st.vcpu_current);

  if (size->name == NULL || size->uuid[0] == '\0' || size->vcpus == 0 || !st.seen[FIELD_MEMORY]) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "domain XML has no <%s>",
                 size->name == NULL ? "name" : size->uuid[0] == '\0' ? "uuid" : size->vcpus == 0 ? "vcpu" : "memory");
    return NULL;
  }
  if (!st.seen[FIELD_CURRENT_MEMORY])
    size->current_memory_bytes = size->memory_bytes;
  read_metadata (size, xml);
  return g_steal_pointer (&size);
}

/* ---- reservation: request or prior -------------------------------------- */

const char *
amigo_allocation_source_to_string (AmigoAllocationSource source)
{
  return source == AMIGO_ALLOCATION_SOURCE_REQUEST ? "request" : "prior";
}

/* Without history the destination cannot know how busy the guest is; it
 * assumes every vCPU can be busy unless the administrator's class says the
 * workload runs steadily below that. Steady classes (database, web server)
 * seldom run every vCPU flat out together (0.75); an idle guest needs a
 * quarter; machine learning, batch and unknown work can use them all. */
static const struct {
  const char *workload;
  double cpu_ceiling;
} prior_table[] = {
  { "idle", 0.25 },
  { "database", 0.75 },
  { "web_server", 0.75 },
  { "machine_learning", 1.0 },
  { "batch", 1.0 },
  { "unknown", 1.0 },
};

double
amigo_domain_xml_prior_cpu_ceiling (const char *workload)
{
  for (gsize i = 0; workload != NULL && i < G_N_ELEMENTS (prior_table); i++)
    if (strcmp (prior_table[i].workload, workload) == 0)
      return prior_table[i].cpu_ceiling;
  return 1.0;
}

void
amigo_domain_prior (const AmigoDomainSize *size, AmigoAllocation *ret)
{
  amigo_allocation_init (ret);
  ret->cpu_cores = size->vcpus * amigo_domain_xml_prior_cpu_ceiling (size->workload);
  /* <memory>, not <currentMemory>: the balloon can give the guest all of it
   * back at any time. */
  ret->memory_gib = (double) size->memory_bytes / (double) (G_GUINT64_CONSTANT (1) << 30);
  ret->gpu_memory_gib = size->gpu_memory_gib;
}

void
amigo_domain_reservation (const AmigoDomainSize *size, AmigoRequestParseFunc parse, AmigoAllocation *ret,
                          AmigoAllocationSource *ret_source, char **ret_note)
{
  g_autoptr(GError) local = NULL;
  g_autofree char *why = NULL;

  if (size->request != NULL && parse != NULL) {
    AmigoAllocation req;
    amigo_allocation_init (&req);
    if (parse (size->request, &req, &local)) {
      *ret = req;
      if (ret_source != NULL)
        *ret_source = AMIGO_ALLOCATION_SOURCE_REQUEST;
      if (ret_note != NULL)
        *ret_note = g_strdup_printf ("domain '%s': reservation from the source host's request", size->name);
      return;
    }
    why = g_strdup_printf ("its request could not be read: %s", local->message);
  } else if (size->request != NULL) {
    why = g_strdup ("requests are not read here");
  } else if (size->metadata_problem != NULL) {
    why = g_strdup_printf ("its amigo metadata could not be read: %s", size->metadata_problem);
  } else {
    why = g_strdup ("it carries no request");
  }
  amigo_domain_prior (size, ret);
  if (ret_source != NULL)
    *ret_source = AMIGO_ALLOCATION_SOURCE_PRIOR;
  if (ret_note != NULL)
    *ret_note = g_strdup_printf ("domain '%s': reservation from its declared size and the '%s' class prior "
                                 "(%u vCPUs x %.2f, %.2f GiB), because %s",
                                 size->name, size->workload != NULL ? size->workload : "unknown",
                                 size->vcpus, amigo_domain_xml_prior_cpu_ceiling (size->workload),
                                 ret->memory_gib, why);
}
