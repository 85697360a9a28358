/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * amigo's element in a domain's libvirt metadata (docs/history-format.md).
 *
 * amigo-metadata-io.c stores it with
 *   virDomainSetMetadata (dom, VIR_DOMAIN_METADATA_ELEMENT, xml,
 *                         AMIGO_METADATA_KEY, AMIGO_METADATA_NAMESPACE, flags)
 * passing amigo_metadata_to_xml (md, FALSE, ...) (libvirt adds the namespace
 * itself and refuses an element that already declares it), and reads it back
 * with virDomainGetMetadata (..., AMIGO_METADATA_NAMESPACE, ...) into
 * amigo_metadata_parse(). Everything here works on strings; nothing calls
 * libvirt.
 */
#define AMIGO_METADATA_NAMESPACE "http://amigo.dev/xmlns/domain/1"
#define AMIGO_METADATA_KEY "amigo"
#define AMIGO_METADATA_VERSION 1

/* Bounds on the inputs. */
#define AMIGO_METADATA_MAX_BYTES (1024 * 1024)
#define AMIGO_METADATA_MAX_DOMAIN_XML_BYTES (16 * 1024 * 1024)
#define AMIGO_METADATA_MAX_RESERVATION_BYTES (64 * 1024)
#define AMIGO_METADATA_MAX_WORKLOAD_LEN 64
#define AMIGO_METADATA_MAX_GPU_MEMORY_GIB 65536.0

typedef struct {
  char *workload;          /* administrator's workload label, e.g. "database"; NULL if unset */
  char *reservation;       /* reservation request (JSON text of the forecast module); NULL if unset */
  char *history;           /* history summary (amigo_history_export_summary()); NULL if unset */
  double gpu_memory_gib;   /* declared GPU memory, GiB; NAN if unset */
} AmigoMetadata;

AmigoMetadata *amigo_metadata_new (void);
void amigo_metadata_free (AmigoMetadata *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoMetadata, amigo_metadata_free)

/* The <domain> element. @with_namespace: FALSE for virDomainSetMetadata()
 * (plain <domain>), TRUE for text placed into a domain XML's <metadata>
 * (<amigo:domain xmlns:amigo='...'>). Fails with AMIGO_ERROR_INVALID_ARGS on
 * a field that would not parse back. */
char *amigo_metadata_to_xml (const AmigoMetadata *self,
                             gboolean with_namespace,
                             GError **error);

/* Parses the element as virDomainGetMetadata() returns it (prefixed or not).
 * AMIGO_ERROR_BAD_DATA names what was wrong (position of malformed XML,
 * version, field). */
AmigoMetadata *amigo_metadata_parse (const char *xml, GError **error);

/* Finds and parses amigo's element inside a full domain XML (<domain> ...
 * <metadata><amigo:domain xmlns:amigo='...'>). AMIGO_ERROR_NOT_FOUND if the
 * domain has none. */
AmigoMetadata *amigo_metadata_parse_domain_xml (const char *domain_xml,
                                                GError **error);

/* Only the declared GPU memory (<amigo:gpu memory_gib='16'/>) of a full
 * domain XML, ignoring the other fields. AMIGO_ERROR_NOT_FOUND if none is
 * declared, AMIGO_ERROR_BAD_DATA if the XML or the number is malformed. */
gboolean amigo_metadata_parse_gpu_memory (const char *domain_xml,
                                          double *ret_gib,
                                          GError **error);

G_END_DECLS
