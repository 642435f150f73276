/* loom-profiler.c — accumulate and format per-label GPU times. Thread-safe. */
#include "config.h"

#include "loom-profiler.h"

typedef struct
{
  char   *label;
  guint64 calls;
  guint64 total_ns;
  guint64 max_ns;
} Entry;

struct _LoomProfiler
{
  GMutex      lock;
  GHashTable *entries;  /* label → Entry, owned */
  guint64     submits;
};

static void
entry_free (gpointer data)
{
  Entry *entry = data;

  g_free (entry->label);
  g_free (entry);
}

LoomProfiler *
loom_profiler_new (void)
{
  LoomProfiler *self = g_new0 (LoomProfiler, 1);

  g_mutex_init (&self->lock);
  self->entries = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, entry_free);
  return self;
}

void
loom_profiler_free (LoomProfiler *self)
{
  if (self == NULL)
    return;
  g_hash_table_unref (self->entries);
  g_mutex_clear (&self->lock);
  g_free (self);
}

void
loom_profiler_add (LoomProfiler *self,
                   const char   *label,
                   guint64       nanoseconds)
{
  Entry *entry;

  g_mutex_lock (&self->lock);
  entry = g_hash_table_lookup (self->entries, label);
  if (entry == NULL)
    {
      entry = g_new0 (Entry, 1);
      entry->label = g_strdup (label);
      g_hash_table_insert (self->entries, entry->label, entry);
    }
  entry->calls++;
  entry->total_ns += nanoseconds;
  entry->max_ns = MAX (entry->max_ns, nanoseconds);
  g_mutex_unlock (&self->lock);
}

void
loom_profiler_count_submit (LoomProfiler *self)
{
  g_mutex_lock (&self->lock);
  self->submits++;
  g_mutex_unlock (&self->lock);
}

gboolean
loom_profiler_is_empty (LoomProfiler *self)
{
  gboolean empty;

  g_mutex_lock (&self->lock);
  empty = g_hash_table_size (self->entries) == 0;
  g_mutex_unlock (&self->lock);
  return empty;
}

void
loom_profiler_reset (LoomProfiler *self)
{
  g_mutex_lock (&self->lock);
  g_hash_table_remove_all (self->entries);
  self->submits = 0;
  g_mutex_unlock (&self->lock);
}

static int
by_total_desc (gconstpointer a,
               gconstpointer b)
{
  const Entry *x = *(const Entry * const *) a, *y = *(const Entry * const *) b;

  if (x->total_ns != y->total_ns)
    return x->total_ns < y->total_ns ? 1 : -1;
  return g_strcmp0 (x->label, y->label);
}

/* Returns the table, slowest kind of operation first. */
char *
loom_profiler_format_table (LoomProfiler *self)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new ();
  GString *out = g_string_new (NULL);
  GHashTableIter iter;
  gpointer value;
  guint64 total = 0, calls = 0;

  g_mutex_lock (&self->lock);
  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Entry *entry = value;
      g_ptr_array_add (rows, entry);
      total += entry->total_ns;
      calls += entry->calls;
    }
  g_ptr_array_sort (rows, by_total_desc);

  g_string_append_printf (out, "%-32s %10s %12s %12s %12s %7s\n",
                          "operation", "calls", "total ms", "mean µs", "max µs", "share");
  for (guint i = 0; i < rows->len; i++)
    {
      Entry *entry = g_ptr_array_index (rows, i);
      g_string_append_printf (out, "%-32s %10" G_GUINT64_FORMAT " %12.3f %12.2f %12.2f %6.1f%%\n",
                              entry->label, entry->calls, entry->total_ns / 1e6,
                              entry->total_ns / 1e3 / entry->calls, entry->max_ns / 1e3,
                              total > 0 ? 100.0 * entry->total_ns / total : 0.0);
    }
  g_string_append_printf (out, "%-32s %10" G_GUINT64_FORMAT " %12.3f  (%" G_GUINT64_FORMAT
                          " submits)\n", "all", calls, total / 1e6, self->submits);
  g_mutex_unlock (&self->lock);

  return g_string_free (out, FALSE);
}
