/* loom-event-log.h — the hash-chained record of how a story was made (PROVENANCE.md §1).
 *
 * The log is append-only. Each event is a JSON object
 *
 *   {"id": "e7", "kind": "accept", "time": "2024-05-01T10:00:00.000000Z",
 *    "fields": {...}, "prev": "<64 hex digits>"}
 *
 * where `prev` is the SHA-256, in lowercase hex, of the previous event's canonical JSON
 * (64 zeros for the first event). The canonical JSON of a value is what json-glib's
 * JsonGenerator writes, not pretty-printed (no whitespace between tokens), for a copy of
 * the value whose object members are sorted by key in byte order (strcmp) at every level;
 * strings are UTF-8 as json-glib escapes them, numbers as json-glib writes them (integers
 * as integers, doubles with "%.17g"). The hash of the last event is the log's head;
 * a saved log stores it, so a change to the last event is found too.
 *
 * Agents — the author, the models and the app — are kept beside the events: events name
 * the model they come from (and its file hash), the agents list describes it.
 */
#pragma once

#if !defined(LOOM_INSIDE) && !defined(LOOM_COMPILATION)
#error "Only <loom.h> can be included directly."
#endif

#include <json-glib/json-glib.h>

#include "loom-types.h"

G_BEGIN_DECLS

#define LOOM_TYPE_EVENT_LOG (loom_event_log_get_type ())

G_DECLARE_FINAL_TYPE (LoomEventLog, loom_event_log, LOOM, EVENT_LOG, GObject)

/* A model the story's text or images came from, as the agents list describes it. */
typedef struct
{
  const char *name;          /* as shown to the author */
  const char *file_name;     /* (nullable): the model file's base name */
  const char *sha256;        /* (nullable): of the model file, lowercase hex */
  guint64     size;          /* of the model file in bytes; 0: unknown */
  const char *quantization;  /* (nullable): e.g. "Q4_K_M", "F16" */
  const char *licence;       /* (nullable): from the model's metadata */
} LoomModelAgent;

LoomEventLog *loom_event_log_new            (void);

/* Appends an event and returns its id (owned by the log). @fields: (transfer full)
 * (nullable). */
const char   *loom_event_log_append         (LoomEventLog   *self,
                                             const char     *kind,
                                             JsonObject     *fields);
/* The same with a given time, in microseconds since the epoch (UTC). */
const char   *loom_event_log_append_at_time (LoomEventLog   *self,
                                             const char     *kind,
                                             JsonObject     *fields,
                                             gint64          time_us);

guint         loom_event_log_get_n_events   (LoomEventLog   *self);
/* The whole event object (borrowed; do not change it: the chain covers it). */
JsonObject   *loom_event_log_get_event      (LoomEventLog   *self,
                                             guint           i);
JsonObject   *loom_event_log_lookup         (LoomEventLog   *self,
                                             const char     *id);
/* The SHA-256 hex of the last event's canonical JSON; 64 zeros when empty. */
char         *loom_event_log_dup_head       (LoomEventLog   *self);

/* Checks every `prev` link and the stored head; the error names the first event whose
 * recorded hash does not match (LOOM_ERROR_FAILED). */
gboolean      loom_event_log_verify         (LoomEventLog   *self,
                                             GError        **error);

/* Agents. */
void          loom_event_log_set_author     (LoomEventLog   *self,
                                             const char     *name);
const char   *loom_event_log_get_author     (LoomEventLog   *self);
void          loom_event_log_set_app        (LoomEventLog   *self,
                                             const char     *name,
                                             const char     *version);
/* Adds a model, or replaces the one with the same sha256 (or name, without one). */
void          loom_event_log_add_model      (LoomEventLog   *self,
                                             const LoomModelAgent *model);
guint         loom_event_log_get_n_models   (LoomEventLog   *self);
/* Borrowed; valid until the log changes. */
void          loom_event_log_get_model      (LoomEventLog   *self,
                                             guint           i,
                                             LoomModelAgent *model);

/* {"events": [...], "head": "<hex>", "agents": {"author": {...}, "models": [...],
 *  "app": {...}}}. Parsing checks the structure, not the chain: call verify. */
JsonNode     *loom_event_log_to_json        (LoomEventLog   *self);
LoomEventLog *loom_event_log_new_from_json  (JsonNode       *node,
                                             GError        **error);
char         *loom_event_log_serialize      (LoomEventLog   *self);
LoomEventLog *loom_event_log_parse          (const char     *json,
                                             gssize          length,
                                             GError        **error);

/* The canonical JSON of @node, as defined above. */
char         *loom_json_canonicalize        (JsonNode       *node);

G_END_DECLS
