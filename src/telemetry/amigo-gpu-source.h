/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

G_BEGIN_DECLS

/**
 * AmigoGpuSource: where the collector gets a domain's GPU memory (GiB).
 *
 * A family behind one small vtable, so a real NVML source is one more file
 * (amigo-gpu-source-nvml.c) that fills an #AmigoGpuSourceClass. Members:
 *
 * - `xml` (amigo-gpu-source-xml.c): the size declared in the domain XML
 *   (amigo metadata `<amigo:gpu memory_gib='16'/>`); see docs/collector.md.
 */
typedef struct _AmigoGpuSource AmigoGpuSource;

/**
 * AmigoGpuProbeResult:
 * @AMIGO_GPU_PROBE_SUCCESS: the source works on this host.
 * @AMIGO_GPU_PROBE_FAIL: the source cannot work here (no driver, no library);
 *   the error says why.
 */
typedef enum {
  AMIGO_GPU_PROBE_SUCCESS,
  AMIGO_GPU_PROBE_FAIL,
} AmigoGpuProbeResult;

typedef struct {
  const char *name;
  /* Whether the source can work on this host. Optional: NULL = success. */
  AmigoGpuProbeResult (*probe) (AmigoGpuSource *self, GError **error);
  /* GPU memory of domain @dom (UUID @uuid) in GiB, read at @now_usec
   * (monotonic). *ret_gib = 0.0 for a domain without a GPU, NAN when the
   * domain has one whose memory is unknown. FALSE + @error only when the
   * source itself failed (libvirt call, driver). */
  gboolean (*read) (AmigoGpuSource *self,
                    virDomainPtr dom,
                    const char *uuid,
                    gint64 now_usec,
                    double *ret_gib,
                    GError **error);
  /* Optional: a domain went away, drop what is cached about it. */
  void (*forget) (AmigoGpuSource *self, const char *uuid);
  /* Frees the member's private data (not @self). Optional. */
  void (*finalize) (AmigoGpuSource *self);
} AmigoGpuSourceClass;

struct _AmigoGpuSource {
  const AmigoGpuSourceClass *klass;
  gpointer priv;
};

/* Allocates a source of class @klass with private data @priv (freed by
 * klass->finalize). For members only. */
AmigoGpuSource *amigo_gpu_source_new_internal (const AmigoGpuSourceClass *klass, gpointer priv);

const char *amigo_gpu_source_get_name (AmigoGpuSource *self);
AmigoGpuProbeResult amigo_gpu_source_probe (AmigoGpuSource *self, GError **error);
gboolean amigo_gpu_source_read (AmigoGpuSource *self,
                                virDomainPtr dom,
                                const char *uuid,
                                gint64 now_usec,
                                double *ret_gib,
                                GError **error);
void amigo_gpu_source_forget (AmigoGpuSource *self, const char *uuid);
void amigo_gpu_source_free (AmigoGpuSource *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmigoGpuSource, amigo_gpu_source_free)

/* --- member `xml`: the GPU memory declared in the domain XML --- */

/* Default metadata namespace looked for. The match is on the element's local
 * name `gpu` under <metadata>, in any namespace whose URI contains "amigo"
 * when @namespace_uri is NULL, else exactly @namespace_uri. */
#define AMIGO_GPU_SOURCE_XML_DEFAULT_REFRESH_USEC (60 * G_GINT64_CONSTANT (1000000))

/* @refresh_usec: how long a domain's parsed XML is cached (0 = read it on
 * every poll). */
AmigoGpuSource *amigo_gpu_source_xml_new (const char *namespace_uri, gint64 refresh_usec);

/* The pure part of the xml member: GPU memory GiB declared in @xml.
 * 0.0 when the domain declares no GPU and has no PCI/mdev <hostdev>; NAN when
 * it has a <hostdev> but declares no size. FALSE + AMIGO_ERROR_BAD_DATA when
 * the XML or the declared size is malformed. */
gboolean amigo_gpu_source_xml_parse (const char *xml,
                                     const char *namespace_uri,
                                     double *ret_gib,
                                     GError **error);

G_END_DECLS
