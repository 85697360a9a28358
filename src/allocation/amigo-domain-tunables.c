/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-domain-tunables.h"

#include <math.h>
#include <string.h>

#include "amigo-domain-xml.h"
#include "amigo-error.h"
#include "amigo-xml-span.h"

/*
 * The XML is edited as text: every change is a cut or an insertion at a
 * byte offset found by amigo-xml-span, so comments, quoting, attribute order
 * and layout of everything amigo does not own stay as they were. New
 * elements follow the indentation of their neighbours (two spaces per level,
 * libvirt's own layout) or stay on one line where the XML is written on one.
 */

typedef struct {
  gsize at;
  gsize len;
  guint seq;                     /* insertion order, for edits at one offset */
  char *text;
} Edit;

typedef struct {
  const char *xml;
  GArray *edits;
} Editor;

static void
edit_clear (gpointer p)
{
  g_free (((Edit *) p)->text);
}

static void
edit_add (Editor *ed, gsize at, gsize len, char *text)
{
  Edit e = { at, len, ed->edits->len, text };
  g_array_append_val (ed->edits, e);
}

static gint
edit_compare (gconstpointer a, gconstpointer b)
{
  const Edit *x = a, *y = b;

  if (x->at != y->at)
    return x->at < y->at ? -1 : 1;
  /* An insertion at an offset goes before a cut starting there. */
  if ((x->len == 0) != (y->len == 0))
    return x->len == 0 ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static char *
editor_finish (Editor *ed, gsize len)
{
  GString *out = g_string_sized_new (len + 1024);
  gsize pos = 0;

  g_array_sort (ed->edits, edit_compare);
  for (guint i = 0; i < ed->edits->len; i++) {
    Edit *e = &g_array_index (ed->edits, Edit, i);
    /* Edits never overlap by construction; skip one that would rather than
     * write a broken document. */
    if (e->at < pos)
      continue;
    g_string_append_len (out, ed->xml + pos, (gssize) (e->at - pos));
    if (e->text != NULL)
      g_string_append (out, e->text);
    pos = e->at + e->len;
  }
  g_string_append_len (out, ed->xml + pos, (gssize) (len - pos));
  return g_string_free (out, FALSE);
}

/* Cuts @child with the whitespace that puts it on its own line. */
static void
cut_element (Editor *ed, const AmigoXmlSpan *child)
{
  gsize from = child->start, floor = child->parent->start_tag_end;

  while (from > floor && (ed->xml[from - 1] == ' ' || ed->xml[from - 1] == '\t'))
    from--;
  if (from > floor && ed->xml[from - 1] == '\n') {
    from--;
    if (from > floor && ed->xml[from - 1] == '\r')
      from--;
  }
  edit_add (ed, from, child->end - from, NULL);
}

/* The opening part of an element written <x .../>, turned into <x ...>. */
static char *
open_tag_of_empty (const AmigoXmlSpan *span, const char *xml)
{
  gsize end = span->start_tag_end - 1;     /* at '>' */

  if (end > span->start && xml[end - 1] == '/')
    end--;
  while (end > span->start && g_ascii_isspace (xml[end - 1]))
    end--;
  return g_strdup_printf ("%.*s>", (int) (end - span->start), xml + span->start);
}

static void
append_children (GString *s, GPtrArray *children, const char *indent, gboolean pretty)
{
  for (guint i = 0; i < children->len; i++) {
    if (pretty)
      g_string_append_printf (s, "\n%s", indent);
    g_string_append (s, g_ptr_array_index (children, i));
  }
}

/* Makes @children (element texts) the elements named @owned inside the
 * element @name of @parent: the old ones are cut and the new ones written
 * after the start tag; <name/> is rewritten; a missing <name> is added as
 * the last child of @parent. */
static void
set_in_container (Editor *ed, const AmigoXmlSpan *parent, const char *name, const char *const *owned,
                  GPtrArray *children)
{
  const char *xml = ed->xml;
  AmigoXmlSpan *box = amigo_xml_span_child (parent, name);
  g_autofree char *pindent = amigo_xml_span_indent (parent, xml);
  g_autoptr(GString) s = g_string_new (NULL);

  if (box != NULL && !box->empty) {
    g_autofree char *indent = amigo_xml_span_indent (box, xml);
    g_autofree char *cindent = g_strconcat (indent, "  ", NULL);
    gboolean pretty = box->start == 0 || xml[box->start - 1] == '\n' || xml[box->start - 1] == ' ' ||
                      xml[box->start - 1] == '\t';
    for (guint i = 0; i < box->children->len; i++) {
      AmigoXmlSpan *c = g_ptr_array_index (box->children, i);
      if (g_strv_contains (owned, c->name))
        cut_element (ed, c);
    }
    append_children (s, children, cindent, pretty && *indent != '\0');
    edit_add (ed, box->start_tag_end, 0, g_string_free (g_steal_pointer (&s), FALSE));
    return;
  }
  if (box != NULL) {
    g_autofree char *indent = amigo_xml_span_indent (box, xml);
    g_autofree char *cindent = g_strconcat (indent, "  ", NULL);
    g_autofree char *open = open_tag_of_empty (box, xml);
    gboolean pretty = *indent != '\0';
    g_string_append (s, open);
    append_children (s, children, cindent, pretty);
    g_string_append_printf (s, "%s%s</%s>", pretty ? "\n" : "", pretty ? indent : "", name);
    edit_add (ed, box->start, box->end - box->start, g_string_free (g_steal_pointer (&s), FALSE));
    return;
  }

  /* No <name> yet: a new last child of @parent. */
  {
    g_autofree char *indent = g_strconcat (pindent, "  ", NULL);
    g_autofree char *cindent = g_strconcat (indent, "  ", NULL);
    gsize at = parent->end_tag_start;
    gboolean pretty;

    if (parent->empty) {
      g_autofree char *open = open_tag_of_empty (parent, xml);
      g_string_append_printf (s, "%s<%s>", open, name);
      append_children (s, children, "", FALSE);
      g_string_append_printf (s, "</%s></%s>", name, parent->name);
      edit_add (ed, parent->start, parent->end - parent->start, g_string_free (g_steal_pointer (&s), FALSE));
      return;
    }
    while (at > parent->start_tag_end && (xml[at - 1] == ' ' || xml[at - 1] == '\t'))
      at--;
    pretty = at > parent->start_tag_end && xml[at - 1] == '\n';
    if (!pretty)
      at = parent->end_tag_start;
    g_string_append_printf (s, "%s<%s>", pretty ? indent : "", name);
    append_children (s, children, cindent, pretty);
    g_string_append_printf (s, "%s%s</%s>%s", pretty ? "\n" : "", pretty ? indent : "", name, pretty ? "\n" : "");
    edit_add (ed, at, 0, g_string_free (g_steal_pointer (&s), FALSE));
  }
}

void
amigo_domain_tunables_options_init (AmigoDomainTunablesOptions *options)
{
  options->shares_per_core = 1024;
  options->shares_max = 10000;
  options->cap_cpu = FALSE;
  options->period_usec = 100000;
}

static guint64
at_least (double v, guint64 floor)
{
  double r = round (v);
  if (r < (double) floor)
    return floor;
  /* Amounts come from a parsed document; keep them inside 64 bits. */
  if (r >= 1.8e19)
    return G_MAXUINT64;
  return (guint64) r;
}

static void
apply_cpu (Editor *ed, const AmigoXmlSpan *domain, double cores, const AmigoDomainTunablesOptions *o)
{
  static const char *const owned[] = { "shares", NULL };
  static const char *const owned_cap[] = { "shares", "global_period", "global_quota", NULL };
  g_autoptr(GPtrArray) children = g_ptr_array_new_with_free_func (g_free);
  guint64 shares = at_least (cores * o->shares_per_core, 2);

  g_ptr_array_add (children, g_strdup_printf ("<shares>%" G_GUINT64_FORMAT "</shares>", MIN (shares, o->shares_max)));
  if (o->cap_cpu) {
    /* libvirt accepts a quota from 1000 us. */
    g_ptr_array_add (children, g_strdup_printf ("<global_period>%u</global_period>", o->period_usec));
    g_ptr_array_add (children, g_strdup_printf ("<global_quota>%" G_GUINT64_FORMAT "</global_quota>",
                                                at_least (ceil (cores * o->period_usec), 1000)));
  }
  set_in_container (ed, domain, "cputune", o->cap_cpu ? owned_cap : owned, children);
}

static void
apply_memory (Editor *ed, const AmigoXmlSpan *domain, double gib)
{
  static const char *const owned[] = { "soft_limit", NULL };
  g_autoptr(GPtrArray) children = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_add (children, g_strdup_printf ("<soft_limit unit='KiB'>%" G_GUINT64_FORMAT "</soft_limit>",
                                              at_least (gib * 1048576.0, 1)));
  set_in_container (ed, domain, "memtune", owned, children);
}

static gboolean
is_disk (const AmigoXmlSpan *span, const char *xml)
{
  g_autofree char *device = NULL;

  if (strcmp (span->name, "disk") != 0)
    return FALSE;
  device = amigo_xml_span_attr (span, xml, "device");
  return device == NULL || strcmp (device, "disk") == 0;
}

/* The interface types libvirt can shape with tc (virNetDevSupportsBandwidth). */
static gboolean
is_shapeable_interface (const AmigoXmlSpan *span, const char *xml)
{
  static const char *const types[] = { "network", "bridge", "direct", "ethernet", NULL };
  g_autofree char *type = NULL;

  if (strcmp (span->name, "interface") != 0)
    return FALSE;
  type = amigo_xml_span_attr (span, xml, "type");
  return type != NULL && g_strv_contains (types, type);
}

typedef gboolean (*DeviceFilter) (const AmigoXmlSpan *span, const char *xml);

static GPtrArray *
devices_matching (const AmigoXmlSpan *devices, const char *xml, DeviceFilter filter)
{
  GPtrArray *found = g_ptr_array_new ();

  for (guint i = 0; devices != NULL && i < devices->children->len; i++) {
    AmigoXmlSpan *d = g_ptr_array_index (devices->children, i);
    if (filter (d, xml))
      g_ptr_array_add (found, d);
  }
  return found;
}

/* Per disk <iotune> rather than <blkiotune><device>: blkiotune names a host
 * block device, which a file, NBD or RBD disk does not have, while iotune is
 * QEMU's own throttle and works for every disk type. */
static void
apply_disk (Editor *ed, const AmigoXmlSpan *devices, double iops)
{
  /* total_iops_sec excludes read/write_iops_sec, and a *_max needs its base
   * value: amigo owns every iops element of an incoming disk. */
  static const char *const owned[] = {
    "total_iops_sec", "read_iops_sec", "write_iops_sec",
    "total_iops_sec_max", "read_iops_sec_max", "write_iops_sec_max",
    "total_iops_sec_max_length", "read_iops_sec_max_length", "write_iops_sec_max_length",
    NULL
  };
  g_autoptr(GPtrArray) disks = devices_matching (devices, ed->xml, is_disk);

  for (guint i = 0; i < disks->len; i++) {
    g_autoptr(GPtrArray) children = g_ptr_array_new_with_free_func (g_free);
    g_ptr_array_add (children, g_strdup_printf ("<total_iops_sec>%" G_GUINT64_FORMAT "</total_iops_sec>",
                                                at_least (iops / disks->len, 1)));
    set_in_container (ed, g_ptr_array_index (disks, i), "iotune", owned, children);
  }
}

static void
apply_network (Editor *ed, const AmigoXmlSpan *devices, double mbit_s)
{
  static const char *const owned[] = { "inbound", "outbound", NULL };
  g_autoptr(GPtrArray) nics = devices_matching (devices, ed->xml, is_shapeable_interface);

  for (guint i = 0; i < nics->len; i++) {
    g_autoptr(GPtrArray) children = g_ptr_array_new_with_free_func (g_free);
    /* libvirt's average is in kilobytes (1000 bytes) per second. */
    guint64 kbytes = at_least (mbit_s / nics->len * 1e6 / 8 / 1000, 1);
    g_ptr_array_add (children, g_strdup_printf ("<inbound average='%" G_GUINT64_FORMAT "'/>", kbytes));
    g_ptr_array_add (children, g_strdup_printf ("<outbound average='%" G_GUINT64_FORMAT "'/>", kbytes));
    set_in_container (ed, g_ptr_array_index (nics, i), "bandwidth", owned, children);
  }
}

static gboolean
check_amount (const char *what, double v, GError **error)
{
  if (isnan (v) || (isfinite (v) && v >= 0))
    return TRUE;
  g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "allocation %s %g is not a finite amount >= 0",
               what, v);
  return FALSE;
}

char *
amigo_domain_tunables_apply (const char *xml, const AmigoAllocation *alloc,
                             const AmigoDomainTunablesOptions *options, GError **error)
{
  g_autoptr(AmigoDomainSize) size = NULL;
  g_autoptr(AmigoXmlSpan) domain = NULL;
  g_autoptr(GArray) edits = g_array_new (FALSE, FALSE, sizeof (Edit));
  AmigoDomainTunablesOptions defaults;
  Editor ed = { xml, edits };
  AmigoXmlSpan *devices;

  g_array_set_clear_func (edits, edit_clear);
  if (options == NULL) {
    amigo_domain_tunables_options_init (&defaults);
    options = &defaults;
  }
  if (!check_amount ("cpu_cores", alloc->cpu_cores, error) ||
      !check_amount ("memory_gib", alloc->memory_gib, error) ||
      !check_amount ("network_mbit_s", alloc->network_mbit_s, error) ||
      !check_amount ("disk_iops", alloc->disk_iops, error))
    return NULL;
  /* Well-formedness, size bound and the <domain> root first; the span
   * scanner then only finds where things are. */
  size = amigo_domain_size_parse (xml, error);
  if (size == NULL)
    return NULL;
  domain = amigo_xml_span_parse (xml, strlen (xml), error);
  if (domain == NULL)
    return NULL;
  devices = amigo_xml_span_child (domain, "devices");

  if (!isnan (alloc->cpu_cores))
    apply_cpu (&ed, domain, alloc->cpu_cores, options);
  if (!isnan (alloc->memory_gib))
    apply_memory (&ed, domain, alloc->memory_gib);
  if (!isnan (alloc->disk_iops))
    apply_disk (&ed, devices, alloc->disk_iops);
  if (!isnan (alloc->network_mbit_s))
    apply_network (&ed, devices, alloc->network_mbit_s);
  return editor_finish (&ed, strlen (xml));
}
