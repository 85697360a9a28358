/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "amigo-ledger.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "amigo-error.h"
#include "amigo-file.h"
#include "amigo-json.h"
#include "amigo-time.h"

struct _AmigoLedger {
  GMutex lock;
  double capacity[AMIGO_RESOURCE_LAST];
  double reserve[AMIGO_RESOURCE_LAST];
  double overcommit[AMIGO_RESOURCE_LAST];
  GArray *entries; /* AmigoReservation, in the order they were made */
};

static const char *const state_names[] = {
  [AMIGO_LEDGER_STATE_PENDING] = "pending",
  [AMIGO_LEDGER_STATE_HELD] = "held",
};

G_STATIC_ASSERT (G_N_ELEMENTS (state_names) == AMIGO_LEDGER_STATE_LAST);

const char *
amigo_ledger_state_to_string (AmigoLedgerState state)
{
  g_return_val_if_fail (state < AMIGO_LEDGER_STATE_LAST, NULL);
  return state_names[state];
}

static gboolean
uuid_is_valid (const char *uuid)
{
  if (uuid == NULL || strlen (uuid) != AMIGO_UUID_STRING_LEN)
    return FALSE;
  for (guint i = 0; i < AMIGO_UUID_STRING_LEN; i++) {
    gboolean dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? uuid[i] != '-' : !g_ascii_isxdigit (uuid[i]))
      return FALSE;
  }
  return TRUE;
}

static gboolean
check_uuid (const char *uuid, GError **error)
{
  if (!uuid_is_valid (uuid)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "'%s' is not a domain UUID",
                 uuid != NULL ? uuid : "(null)");
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_amounts (const double amounts[AMIGO_RESOURCE_LAST], const char *what, GError **error)
{
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    if (!isfinite (amounts[r]) || amounts[r] < 0) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS, "%s of %s is %g, must be a finite number >= 0",
                   what, amigo_resource_to_string (r), amounts[r]);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
set_capacity_locked (AmigoLedger *self, const double capacity[AMIGO_RESOURCE_LAST],
                     const double reserve[AMIGO_RESOURCE_LAST], const double overcommit[AMIGO_RESOURCE_LAST],
                     GError **error)
{
  static const double zero[AMIGO_RESOURCE_LAST] = { 0 };
  static const double one[AMIGO_RESOURCE_LAST] = { 1, 1, 1, 1, 1 };

  if (reserve == NULL)
    reserve = zero;
  if (overcommit == NULL)
    overcommit = one;
  if (!check_amounts (capacity, "capacity", error) || !check_amounts (reserve, "host reserve", error) ||
      !check_amounts (overcommit, "overcommit ratio", error))
    return FALSE;
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    if (reserve[r] > capacity[r]) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                   "host reserve of %s (%g %s) is above its capacity (%g %s)", amigo_resource_to_string (r),
                   reserve[r], amigo_resource_unit (r), capacity[r], amigo_resource_unit (r));
      return FALSE;
    }
  }
  memcpy (self->capacity, capacity, sizeof self->capacity);
  memcpy (self->reserve, reserve, sizeof self->reserve);
  memcpy (self->overcommit, overcommit, sizeof self->overcommit);
  return TRUE;
}

AmigoLedger *
amigo_ledger_new (const double capacity[AMIGO_RESOURCE_LAST], const double reserve[AMIGO_RESOURCE_LAST],
                  const double overcommit[AMIGO_RESOURCE_LAST], GError **error)
{
  g_autoptr(AmigoLedger) self = g_new0 (AmigoLedger, 1);

  g_mutex_init (&self->lock);
  self->entries = g_array_new (FALSE, TRUE, sizeof (AmigoReservation));
  if (!set_capacity_locked (self, capacity, reserve, overcommit, error))
    return NULL;
  return g_steal_pointer (&self);
}

void
amigo_ledger_free (AmigoLedger *self)
{
  if (self == NULL)
    return;
  g_mutex_clear (&self->lock);
  if (self->entries != NULL)
    g_array_unref (self->entries);
  g_free (self);
}

gboolean
amigo_ledger_set_capacity (AmigoLedger *self, const double capacity[AMIGO_RESOURCE_LAST],
                           const double reserve[AMIGO_RESOURCE_LAST],
                           const double overcommit[AMIGO_RESOURCE_LAST], GError **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);

  return set_capacity_locked (self, capacity, reserve, overcommit, error);
}

static gint
find_locked (AmigoLedger *self, const char *uuid)
{
  for (guint i = 0; i < self->entries->len; i++) {
    if (g_ascii_strcasecmp (g_array_index (self->entries, AmigoReservation, i).uuid, uuid) == 0)
      return (gint) i;
  }
  return -1;
}

static void
room_locked (AmigoLedger *self, double ret_room[AMIGO_RESOURCE_LAST])
{
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++)
    ret_room[r] = (self->capacity[r] - self->reserve[r]) * self->overcommit[r];
}

/* Recomputed from the entries every time rather than kept as a running
 * total, so that releasing an entry restores the free amounts exactly. */
static void
free_locked (AmigoLedger *self, double ret_free[AMIGO_RESOURCE_LAST])
{
  double used[AMIGO_RESOURCE_LAST] = { 0 };

  room_locked (self, ret_free);
  for (guint i = 0; i < self->entries->len; i++) {
    const AmigoReservation *e = &g_array_index (self->entries, AmigoReservation, i);
    for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++)
      used[r] += e->amounts[r];
  }
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++)
    ret_free[r] -= used[r];
}

/* "need 1.42 GiB, 0.90 GiB free": two decimals, more only when two
 * different amounts would otherwise print the same. */
static void
append_shortage (GString *msg, AmigoResource r, double need, double avail)
{
  const char *unit = amigo_resource_unit (r);
  int digits = 2;

  avail = MAX (avail, 0.0);
  while (digits < 9) {
    g_autofree char *a = g_strdup_printf ("%.*f", digits, need);
    g_autofree char *b = g_strdup_printf ("%.*f", digits, avail);
    if (strcmp (a, b) != 0)
      break;
    digits++;
  }
  if (msg->len > 0)
    g_string_append (msg, "; ");
  g_string_append_printf (msg, "%s: need %.*f %s, %.*f %s free after reservations",
                          amigo_resource_to_string (r), digits, need, unit, digits, avail, unit);
}

gboolean
amigo_ledger_reserve (AmigoLedger *self, const char *uuid, const double amounts[AMIGO_RESOURCE_LAST],
                      gint64 lease_usec, gint64 now_usec, AmigoReservation *ret_reservation, GError **error)
{
  g_autoptr(GMutexLocker) locker = NULL;
  g_autoptr(GString) shortage = g_string_new (NULL);
  double avail[AMIGO_RESOURCE_LAST];
  AmigoReservation entry = { 0 };

  if (!check_uuid (uuid, error) || !check_amounts (amounts, "reservation", error))
    return FALSE;
  if (lease_usec <= 0 || lease_usec > G_MAXINT64 - MAX (now_usec, 0)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_INVALID_ARGS,
                 "reservation lease of %" G_GINT64_FORMAT " usec is out of range", lease_usec);
    return FALSE;
  }

  locker = g_mutex_locker_new (&self->lock);
  if (find_locked (self, uuid) >= 0) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BUSY, "domain '%s' already has a reservation", uuid);
    return FALSE;
  }
  if (self->entries->len >= AMIGO_LEDGER_MAX_ENTRIES) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_REFUSED, "the ledger is full (%u entries)",
                 AMIGO_LEDGER_MAX_ENTRIES);
    return FALSE;
  }
  free_locked (self, avail);
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    if (amounts[r] > avail[r])
      append_shortage (shortage, r, amounts[r], avail[r]);
  }
  if (shortage->len > 0) {
    g_set_error_literal (error, AMIGO_ERROR, AMIGO_ERROR_REFUSED, shortage->str);
    return FALSE;
  }

  g_strlcpy (entry.uuid, uuid, sizeof entry.uuid);
  memcpy (entry.amounts, amounts, sizeof entry.amounts);
  entry.lease_expiry_usec = now_usec + lease_usec;
  entry.state = AMIGO_LEDGER_STATE_PENDING;
  g_array_append_val (self->entries, entry);
  if (ret_reservation != NULL)
    *ret_reservation = entry;
  return TRUE;
}

gboolean
amigo_ledger_hold (AmigoLedger *self, const char *uuid, const double amounts[AMIGO_RESOURCE_LAST],
                   gint64 lease_expiry_usec, GError **error)
{
  g_autoptr(GMutexLocker) locker = NULL;
  AmigoReservation entry = { 0 };
  gint i;

  if (!check_uuid (uuid, error) || !check_amounts (amounts, "held amount", error))
    return FALSE;
  g_strlcpy (entry.uuid, uuid, sizeof entry.uuid);
  memcpy (entry.amounts, amounts, sizeof entry.amounts);
  entry.lease_expiry_usec = lease_expiry_usec;
  entry.state = AMIGO_LEDGER_STATE_HELD;

  locker = g_mutex_locker_new (&self->lock);
  i = find_locked (self, uuid);
  if (i >= 0) {
    g_array_index (self->entries, AmigoReservation, i) = entry;
    return TRUE;
  }
  if (self->entries->len >= AMIGO_LEDGER_MAX_ENTRIES) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_REFUSED, "the ledger is full (%u entries)",
                 AMIGO_LEDGER_MAX_ENTRIES);
    return FALSE;
  }
  g_array_append_val (self->entries, entry);
  return TRUE;
}

static gint
find_or_error_locked (AmigoLedger *self, const char *uuid, GError **error)
{
  gint i = uuid != NULL ? find_locked (self, uuid) : -1;

  if (i < 0)
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND, "domain '%s' has no reservation",
                 uuid != NULL ? uuid : "(null)");
  return i;
}

gboolean
amigo_ledger_release (AmigoLedger *self, const char *uuid, GError **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  gint i = find_or_error_locked (self, uuid, error);

  if (i < 0)
    return FALSE;
  g_array_remove_index (self->entries, i);
  return TRUE;
}

gboolean
amigo_ledger_activate (AmigoLedger *self, const char *uuid, GError **error)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  gint i = find_or_error_locked (self, uuid, error);

  if (i < 0)
    return FALSE;
  g_array_index (self->entries, AmigoReservation, i).state = AMIGO_LEDGER_STATE_HELD;
  return TRUE;
}

guint
amigo_ledger_expire (AmigoLedger *self, gint64 now_usec)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  guint n = 0;

  for (guint i = self->entries->len; i-- > 0;) {
    const AmigoReservation *e = &g_array_index (self->entries, AmigoReservation, i);
    if (e->state == AMIGO_LEDGER_STATE_PENDING && e->lease_expiry_usec <= now_usec) {
      g_array_remove_index (self->entries, i);
      n++;
    }
  }
  return n;
}

void
amigo_ledger_reconcile (AmigoLedger *self, const char *const *running, gint64 now_usec, guint *ret_activated,
                        guint *ret_released)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  guint activated = 0, released = 0;

  for (guint i = self->entries->len; i-- > 0;) {
    AmigoReservation *e = &g_array_index (self->entries, AmigoReservation, i);
    gboolean runs = FALSE;

    for (guint k = 0; running != NULL && running[k] != NULL && !runs; k++)
      runs = g_ascii_strcasecmp (running[k], e->uuid) == 0;
    if (runs && e->state == AMIGO_LEDGER_STATE_PENDING) {
      e->state = AMIGO_LEDGER_STATE_HELD;
      activated++;
    } else if (!runs && e->lease_expiry_usec <= now_usec) {
      g_array_remove_index (self->entries, i);
      released++;
    }
  }
  if (ret_activated != NULL)
    *ret_activated = activated;
  if (ret_released != NULL)
    *ret_released = released;
}

void
amigo_ledger_get_room (AmigoLedger *self, double ret_room[AMIGO_RESOURCE_LAST])
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);

  room_locked (self, ret_room);
}

void
amigo_ledger_get_free (AmigoLedger *self, double ret_free[AMIGO_RESOURCE_LAST])
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);

  free_locked (self, ret_free);
}

gboolean
amigo_ledger_lookup (AmigoLedger *self, const char *uuid, AmigoReservation *ret_reservation)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  gint i = uuid != NULL ? find_locked (self, uuid) : -1;

  if (i < 0)
    return FALSE;
  if (ret_reservation != NULL)
    *ret_reservation = g_array_index (self->entries, AmigoReservation, i);
  return TRUE;
}

GArray *
amigo_ledger_dup_entries (AmigoLedger *self)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  GArray *copy = g_array_sized_new (FALSE, TRUE, sizeof (AmigoReservation), self->entries->len);

  g_array_append_vals (copy, self->entries->data, self->entries->len);
  return copy;
}

/* ---- on disk ------------------------------------------------------------- */

static void
add_amounts (JsonBuilder *b, const char *name, const double amounts[AMIGO_RESOURCE_LAST])
{
  json_builder_set_member_name (b, name);
  json_builder_begin_object (b);
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    json_builder_set_member_name (b, amigo_resource_to_string (r));
    json_builder_add_double_value (b, amounts[r]);
  }
  json_builder_end_object (b);
}

static char *
ledger_to_json_locked (AmigoLedger *self)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonGenerator) gen = json_generator_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, AMIGO_LEDGER_FORMAT_VERSION);
  add_amounts (b, "capacity", self->capacity);
  add_amounts (b, "reserve", self->reserve);
  add_amounts (b, "overcommit", self->overcommit);
  json_builder_set_member_name (b, "entries");
  json_builder_begin_array (b);
  for (guint i = 0; i < self->entries->len; i++) {
    const AmigoReservation *e = &g_array_index (self->entries, AmigoReservation, i);

    json_builder_begin_object (b);
    json_builder_set_member_name (b, "uuid");
    json_builder_add_string_value (b, e->uuid);
    json_builder_set_member_name (b, "state");
    json_builder_add_string_value (b, state_names[e->state]);
    json_builder_set_member_name (b, "lease_expiry_usec");
    json_builder_add_int_value (b, e->lease_expiry_usec);
    add_amounts (b, "amounts", e->amounts);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  return json_generator_to_data (gen, NULL);
}

gboolean
amigo_ledger_save (AmigoLedger *self, const char *path, GError **error)
{
  g_autofree char *text = NULL;
  g_autoptr(GError) local = NULL;

  {
    g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
    text = ledger_to_json_locked (self);
  }
  /* after a crash the file is either the old ledger or the new one, whole */
  if (!amigo_file_write_atomic (path, text, strlen (text), 0600, &local)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "%s", local->message);
    return FALSE;
  }
  return TRUE;
}

static gboolean
read_amounts (JsonObject *obj, const char *what, const char *path, const char *name,
              double ret[AMIGO_RESOURCE_LAST], GError **error)
{
  JsonObject *o = amigo_json_get_object (obj, what, path, name, error);
  g_autofree char *sub = g_strdup_printf ("%s%s.", path, name);

  if (o == NULL)
    return FALSE;
  for (guint r = 0; r < AMIGO_RESOURCE_LAST; r++) {
    const char *res = amigo_resource_to_string (r);
    if (!amigo_json_get_double (o, what, sub, res, FALSE, &ret[r], error))
      return FALSE;
    if (!isfinite (ret[r]) || ret[r] < 0) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "%s: '%s%s' must be a finite number >= 0", what,
                   sub, res);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
read_entry (JsonNode *node, const char *what, guint idx, AmigoReservation *e, GError **error)
{
  g_autofree char *path = g_strdup_printf ("entries[%u].", idx);
  JsonObject *o = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  const char *uuid, *state;
  gint64 lease;
  guint s;

  if (o == NULL) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "%s: 'entries[%u]' must be an object", what, idx);
    return FALSE;
  }
  uuid = amigo_json_get_string (o, what, path, "uuid", error);
  if (uuid == NULL)
    return FALSE;
  if (!uuid_is_valid (uuid)) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "%s: '%suuid' is not a domain UUID", what, path);
    return FALSE;
  }
  state = amigo_json_get_string (o, what, path, "state", error);
  if (state == NULL)
    return FALSE;
  for (s = 0; s < AMIGO_LEDGER_STATE_LAST; s++) {
    if (strcmp (state, state_names[s]) == 0)
      break;
  }
  if (s == AMIGO_LEDGER_STATE_LAST) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA,
                 "%s: '%sstate' must be \"pending\" or \"held\"", what, path);
    return FALSE;
  }
  if (!amigo_json_get_int (o, what, path, "lease_expiry_usec", G_MININT64, &lease, error) ||
      !read_amounts (o, what, path, "amounts", e->amounts, error))
    return FALSE;
  g_strlcpy (e->uuid, uuid, sizeof e->uuid);
  e->state = s;
  e->lease_expiry_usec = lease;
  return TRUE;
}

static AmigoLedger *
ledger_from_json (const char *text, gsize len, const char *what, GError **error)
{
  g_autoptr(JsonNode) root = amigo_json_parse_object (text, (gssize) len, what, error);
  double cap[AMIGO_RESOURCE_LAST], res[AMIGO_RESOURCE_LAST], over[AMIGO_RESOURCE_LAST];
  g_autoptr(AmigoLedger) self = NULL;
  JsonObject *obj;
  JsonArray *entries;
  gint64 version;

  if (root == NULL)
    return NULL;
  obj = json_node_get_object (root);
  if (!amigo_json_get_int (obj, what, "", "version", 1, &version, error))
    return NULL;
  if (version != AMIGO_LEDGER_FORMAT_VERSION) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED,
                 "%s: format version %" G_GINT64_FORMAT " is not supported (this amigo reads version %d)", what,
                 version, AMIGO_LEDGER_FORMAT_VERSION);
    return NULL;
  }
  if (!read_amounts (obj, what, "", "capacity", cap, error) ||
      !read_amounts (obj, what, "", "reserve", res, error) ||
      !read_amounts (obj, what, "", "overcommit", over, error))
    return NULL;
  self = amigo_ledger_new (cap, res, over, error);
  if (self == NULL) {
    g_prefix_error (error, "%s: ", what);
    if (error != NULL && *error != NULL)
      (*error)->code = AMIGO_ERROR_BAD_DATA;
    return NULL;
  }
  entries = amigo_json_get_array (obj, what, "", "entries", error);
  if (entries == NULL)
    return NULL;
  if (json_array_get_length (entries) > AMIGO_LEDGER_MAX_ENTRIES) {
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "%s: 'entries' has %u entries, more than %u", what,
                 json_array_get_length (entries), AMIGO_LEDGER_MAX_ENTRIES);
    return NULL;
  }
  for (guint i = 0; i < json_array_get_length (entries); i++) {
    AmigoReservation e = { 0 };

    if (!read_entry (json_array_get_element (entries, i), what, i, &e, error))
      return NULL;
    if (find_locked (self, e.uuid) >= 0) {
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "%s: 'entries[%u].uuid' '%s' appears twice", what,
                   i, e.uuid);
      return NULL;
    }
    g_array_append_val (self->entries, e);
  }
  return g_steal_pointer (&self);
}

AmigoLedger *
amigo_ledger_load (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  g_autofree char *what = g_strdup_printf ("ledger file '%s'", path);
  g_autofree char *aside = NULL;
  g_autoptr(GError) local = NULL;
  g_autoptr(GMappedFile) map = NULL;
  AmigoLedger *self;
  gsize len;

  map = g_mapped_file_new (path, FALSE, &local);
  if (map == NULL) {
    if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_NOT_FOUND, "%s does not exist", what);
    else
      g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_FAILED, "cannot read %s: %s", what, local->message);
    return NULL;
  }
  len = g_mapped_file_get_length (map);
  if (len > AMIGO_LEDGER_MAX_FILE_BYTES) {
    local = g_error_new (AMIGO_ERROR, AMIGO_ERROR_BAD_DATA, "%s: %" G_GSIZE_FORMAT " bytes, more than %" G_GSIZE_FORMAT,
                         what, len, AMIGO_LEDGER_MAX_FILE_BYTES);
    self = NULL;
  } else {
    /* a copy, NUL-terminated: an empty file maps to NULL contents */
    text = g_strndup (len > 0 ? g_mapped_file_get_contents (map) : "", len);
    self = ledger_from_json (text, len, what, &local);
  }
  if (self != NULL)
    return self;
  if (g_error_matches (local, AMIGO_ERROR, AMIGO_ERROR_NOT_SUPPORTED)) {
    g_propagate_error (error, g_steal_pointer (&local));
    return NULL;
  }

  /* damaged: keep it for an administrator and start afresh */
  aside = g_strdup_printf ("%s.corrupt-%" G_GINT64_FORMAT, path, g_get_real_time () / AMIGO_USEC_PER_SEC);
  if (rename (path, aside) < 0)
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_CORRUPT, "%s, and it could not be set aside: %s",
                 local->message, g_strerror (errno));
  else
    g_set_error (error, AMIGO_ERROR, AMIGO_ERROR_CORRUPT, "%s; set aside as '%s'", local->message, aside);
  return NULL;
}
