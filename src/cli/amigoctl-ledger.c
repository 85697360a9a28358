/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* amigoctl ledger / reservations: the host's reservation ledger
 * (GetLedger, ListReservations; read group). */
#include <stdio.h>

#include "amigo/amigo-series.h"
#include "amigo-format.h"
#include "amigo-format-forecast.h"
#include "amigoctl.h"

static char *
amount (GVariant *dict, const char *what, const char *resource)
{
  g_autoptr (GVariant) amounts = g_variant_lookup_value (dict, what, G_VARIANT_TYPE ("a{sv}"));
  double v = 0.0;

  if (amounts == NULL || !g_variant_lookup (amounts, resource, "d", &v))
    return g_strdup ("-");
  return g_strdup_printf ("%.2f", v);
}

static int
print_json (GVariant *value)
{
  g_autoptr (JsonNode) root = amigo_format_variant_to_json (value);

  print_and_free (amigo_format_json (root));
  return EXIT_OK;
}

int
cmd_ledger (Cli *cli, int argc, char **argv)
{
  static const char *const headers[] = { "RESOURCE", "UNIT", "CAPACITY", "RESERVE", "OVERCOMMIT", "HELD",
                                         "RESERVED", "FREE" };
  static const gboolean right[] = { FALSE, FALSE, TRUE, TRUE, TRUE, TRUE, TRUE, TRUE };
  g_autoptr (GVariant) ledger = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (AmigoTable) table = NULL;
  gboolean enabled = TRUE, known = FALSE;
  guint32 entries = 0;

  if (!amigo_daemon1_call_get_ledger_sync (cli->proxy, &ledger, NULL, &error))
    return fail_call (error);
  if (cli->json)
    return print_json (ledger);
  g_variant_lookup (ledger, "enabled", "b", &enabled);
  g_variant_lookup (ledger, "capacity_known", "b", &known);
  g_variant_lookup (ledger, "entries", "u", &entries);
  if (!enabled)
    printf ("Admission is off ([allocation] enabled = false): migrations are admitted unchanged.\n");
  if (!known) {
    printf ("The host's capacity is not known yet (amigod has not reached libvirt).\n");
    return EXIT_OK;
  }
  table = amigo_table_new (headers, right, G_N_ELEMENTS (headers));
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    const char *name = amigo_resource_to_string (r);
    g_autofree char *cap = amount (ledger, "capacity", name);
    g_autofree char *res = amount (ledger, "reserve", name);
    g_autofree char *oc = amount (ledger, "overcommit", name);
    g_autofree char *held = amount (ledger, "held", name);
    g_autofree char *rsv = amount (ledger, "reserved", name);
    g_autofree char *fr = amount (ledger, "free", name);
    const char *row[] = { name, amigo_resource_unit (r), cap, res, oc, held, rsv, fr };
    amigo_table_add_row (table, row);
  }
  print_and_free (amigo_table_render (table));
  printf ("%u reservation%s (amigoctl reservations)\n", entries, entries == 1 ? "" : "s");
  return EXIT_OK;
}

int
cmd_reservations (Cli *cli, int argc, char **argv)
{
  static const char *const headers[] = { "UUID", "NAME", "STATE", "CPU", "MEMORY_GIB", "NETWORK_MBIT",
                                         "DISK_IOPS", "LEASE_EXPIRY" };
  static const gboolean right[] = { FALSE, FALSE, FALSE, TRUE, TRUE, TRUE, TRUE, FALSE };
  g_autoptr (GVariant) list = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (AmigoTable) table = NULL;

  if (!amigo_daemon1_call_list_reservations_sync (cli->proxy, &list, NULL, &error))
    return fail_call (error);
  if (cli->json)
    return print_json (list);
  if (g_variant_n_children (list) == 0) {
    printf ("No reservations.\n");
    return EXIT_OK;
  }
  table = amigo_table_new (headers, right, G_N_ELEMENTS (headers));
  for (gsize i = 0; i < g_variant_n_children (list); i++) {
    g_autoptr (GVariant) e = g_variant_get_child_value (list, i);
    const char *uuid = "", *name = "", *state = "";
    gint64 expiry = 0;
    g_autofree char *cpu = amount (e, "amounts", "cpu");
    g_autofree char *mem = amount (e, "amounts", "memory");
    g_autofree char *net = amount (e, "amounts", "network");
    g_autofree char *disk = amount (e, "amounts", "disk");
    g_autofree char *exp = NULL;

    g_variant_lookup (e, "uuid", "&s", &uuid);
    g_variant_lookup (e, "name", "&s", &name);
    g_variant_lookup (e, "state", "&s", &state);
    g_variant_lookup (e, "lease_expiry_usec", "x", &expiry);
    exp = amigo_format_time (expiry);
    {
      const char *row[] = { uuid, *name != '\0' ? name : "-", state, cpu, mem, net, disk, exp };
      amigo_table_add_row (table, row);
    }
  }
  print_and_free (amigo_table_render (table));
  return EXIT_OK;
}
