/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Writes a domain XML with an allocation applied, for test-domain-tunables.sh.
 * usage: test-domain-tunables-helper IN.xml CPU_CORES MEMORY_GIB NETWORK_MBIT_S DISK_IOPS [cap] */
#include <stdio.h>
#include <stdlib.h>

#include "amigo-domain-tunables.h"

int
main (int argc, char **argv)
{
  g_autofree char *xml = NULL;
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  AmigoDomainTunablesOptions options;
  AmigoAllocation a;

  if (argc < 6) {
    fprintf (stderr, "usage: %s IN.xml CPU_CORES MEMORY_GIB NETWORK_MBIT_S DISK_IOPS [cap]\n", argv[0]);
    return 2;
  }
  if (!g_file_get_contents (argv[1], &xml, NULL, &error)) {
    fprintf (stderr, "%s\n", error->message);
    return 1;
  }
  amigo_allocation_init (&a);
  a.cpu_cores = g_ascii_strtod (argv[2], NULL);
  a.memory_gib = g_ascii_strtod (argv[3], NULL);
  a.network_mbit_s = g_ascii_strtod (argv[4], NULL);
  a.disk_iops = g_ascii_strtod (argv[5], NULL);
  amigo_domain_tunables_options_init (&options);
  options.cap_cpu = argc > 6;
  out = amigo_domain_tunables_apply (xml, &a, &options, &error);
  if (out == NULL) {
    fprintf (stderr, "%s\n", error->message);
    return 1;
  }
  fputs (out, stdout);
  return 0;
}
