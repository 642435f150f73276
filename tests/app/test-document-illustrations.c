/* test-document-illustrations.c — the pictures of a story in CandorDocument: the
 * history and what its events record, a picture placed in the text (origins, undo,
 * redo), the .candor file holding pictures and their records (and refusing damaged
 * ones), the summary, and Markdown export writing the pictures beside the text.
 *
 * The images are made here from known pixels and records (no model is needed): what
 * comes back is compared byte for byte with what went in. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "candor-document.h"
#include "candor-illustration.h"
#include "candor-picture-paintable.h"
#include "candor-test-app.h"

#define OBJECT_CHAR "\xEF\xBF\xBC"

static const char model_sha256[] =
  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/* A 16×8 picture whose pixels depend on @seed, with a txt2img record. */
static LoomImage *
make_image (guint64     seed,
            const char *prompt)
{
  guint width = 16, height = 8;
  g_autofree guint8 *rgba = g_malloc (width * height * 4);
  g_autoptr(GBytes) pixels = NULL;
  LoomImageRecord record = { 0 };

  for (guint i = 0; i < width * height; i++)
    {
      rgba[i * 4 + 0] = (guint8) (i * 7 + seed);
      rgba[i * 4 + 1] = (guint8) (i * 13 + seed * 3);
      rgba[i * 4 + 2] = (guint8) (255 - i);
      rgba[i * 4 + 3] = 255;
    }
  pixels = g_bytes_new (rgba, width * height * 4);

  record.model_name = (char *) "tiny-sd";
  record.model_kind = (char *) "SD 2.x (v)";
  record.model_sha256 = (char *) model_sha256;
  record.prompt = (char *) prompt;
  record.negative_prompt = (char *) "blurry";
  record.seed = seed;
  record.steps = 4;
  record.sampler = (char *) "euler_a";
  record.cfg_scale = 7.0f;
  record.width = width;
  record.height = height;
  record.mode = (char *) "txt2img";
  record.strength = 1.0f;
  record.seconds = 1.5;

  return loom_image_new (pixels, width, height, &record);
}

static JsonObject *
last_event (CandorDocument *document,
            const char     *kind)
{
  LoomEventLog *log = candor_document_get_log (document);

  for (guint i = loom_event_log_get_n_events (log); i-- > 0;)
    {
      JsonObject *event = loom_event_log_get_event (log, i);

      if (g_str_equal (json_object_get_string_member (event, "kind"), kind))
        return json_object_get_object_member (event, "fields");
    }
  g_assert_not_reached ();
}

static void
type_at_end (CandorDocument *document,
             const char     *text)
{
  GtkTextBuffer *buffer = candor_document_get_buffer (document);
  GtkTextIter end;

  gtk_text_buffer_get_end_iter (buffer, &end);
  gtk_text_buffer_place_cursor (buffer, &end);
  candor_test_type_in_document (document, text);
}

static void
place_at (CandorDocument     *document,
          guint               offset,
          CandorIllustration *illustration)
{
  GtkTextIter iter;

  gtk_text_buffer_get_iter_at_offset (candor_document_get_buffer (document), &iter, offset);
  candor_document_place_illustration (document, &iter, illustration);
  g_assert_cmpuint (gtk_text_iter_get_offset (&iter), ==, offset + 1);
}

static void
assert_placed (CandorDocument     *document,
               CandorIllustration *expected,
               guint               expected_offset)
{
  g_autoptr(GArray) offsets = NULL;
  g_autoptr(GPtrArray) placed = candor_document_list_placed (document, &offsets);

  if (expected == NULL)
    {
      g_assert_cmpuint (placed->len, ==, 0);
      return;
    }
  g_assert_cmpuint (placed->len, ==, 1);
  g_assert_cmpstr (candor_illustration_get_id (placed->pdata[0]), ==,
                   candor_illustration_get_id (expected));
  g_assert_cmpuint (g_array_index (offsets, guint, 0), ==, expected_offset);
}

/* Deletes the text from @start to @end as the author would, in one user action. */
static void
delete_range (CandorDocument *document,
              guint           start,
              guint           end)
{
  GtkTextBuffer *buffer = candor_document_get_buffer (document);
  GtkTextIter start_iter, end_iter;

  gtk_text_buffer_get_iter_at_offset (buffer, &start_iter, start);
  gtk_text_buffer_get_iter_at_offset (buffer, &end_iter, end);
  gtk_text_buffer_begin_user_action (buffer);
  gtk_text_buffer_delete_interactive (buffer, &start_iter, &end_iter, TRUE);
  gtk_text_buffer_end_user_action (buffer);
}

/* Saves @document to @file and loads it back: the same text. */
static CandorDocument *
save_and_load (CandorDocument *document,
               GFile          *file)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CandorDocument) loaded = NULL;
  g_autofree char *text = NULL;
  g_autofree char *loaded_text = NULL;

  g_assert_true (candor_document_save (document, file, &error));
  g_assert_no_error (error);
  loaded = candor_document_load (file, &error);
  g_assert_no_error (error);
  g_assert_nonnull (loaded);
  text = candor_document_dup_text (document);
  loaded_text = candor_document_dup_text (loaded);
  g_assert_cmpstr (loaded_text, ==, text);
  return g_steal_pointer (&loaded);
}

static void
assert_runs_valid (CandorDocument *document)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (loom_authorship_validate (candor_document_get_authorship (document),
                                           gtk_text_buffer_get_char_count (candor_document_get_buffer (document)),
                                           &error));
  g_assert_no_error (error);
}

static void
test_history_events (void)
{
  g_autoptr(CandorDocument) document = candor_document_new ();
  g_autoptr(LoomImage) first = make_image (1, "a lighthouse");
  g_autoptr(LoomImage) second = make_image (2, "a lighthouse");
  GListModel *history = candor_document_get_illustrations (document);
  CandorIllustration *a, *b, *painted;
  JsonObject *fields;
  const char *stroke_id;

  a = candor_document_add_generated (document, first, NULL, FALSE, 0, 2);
  b = candor_document_add_generated (document, second, NULL, FALSE, 1, 2);
  g_assert_cmpuint (g_list_model_get_n_items (history), ==, 2);
  g_assert_true (candor_document_get_modified (document));

  /* image.generate carries the whole record and the batch. */
  fields = last_event (document, "image.generate");
  g_assert_cmpstr (json_object_get_string_member (fields, "prompt"), ==, "a lighthouse");
  g_assert_cmpstr (json_object_get_string_member (fields, "negative_prompt"), ==, "blurry");
  g_assert_cmpstr (json_object_get_string_member (fields, "model_sha256"), ==, model_sha256);
  g_assert_cmpstr (json_object_get_string_member (fields, "sampler"), ==, "euler_a");
  g_assert_cmpint (json_object_get_int_member (fields, "steps"), ==, 4);
  g_assert_cmpint (json_object_get_int_member (fields, "batch_index"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (fields, "batch_count"), ==, 2);
  g_assert_false (json_object_get_boolean_member (fields, "human_pixels"));
  g_assert_cmpstr (candor_illustration_get_source_type (b), ==, CANDOR_SOURCE_TYPE_AI);

  /* Choices name the candidate and how many had been seen. */
  candor_document_discard_illustration (document, a);
  fields = last_event (document, "image.discard");
  g_assert_cmpstr (json_object_get_string_member (fields, "illustration"), ==,
                   candor_illustration_get_id (a));
  g_assert_cmpint (json_object_get_int_member (fields, "index"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (fields, "candidates_seen"), ==, 2);
  g_assert_cmpint (candor_illustration_get_state (a), ==, CANDOR_ILLUSTRATION_DISCARDED);
  candor_document_select_illustration (document, b);
  fields = last_event (document, "image.select");
  g_assert_cmpint (json_object_get_int_member (fields, "index"), ==, 1);
  g_assert_cmpint (candor_illustration_get_state (b), ==, CANDOR_ILLUSTRATION_SELECTED);

  /* Paint on b: the strokes are an event, the painted picture a composite. */
  stroke_id = candor_document_log_strokes (document, b, "brush", 3, 420);
  fields = last_event (document, "image.stroke");
  g_assert_cmpstr (json_object_get_string_member (fields, "tool"), ==, "brush");
  g_assert_cmpint (json_object_get_int_member (fields, "strokes"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (fields, "covered_pixels"), ==, 420);
  g_assert_cmpstr (json_object_get_string_member (fields, "base"), ==, candor_illustration_get_id (b));
  painted = candor_document_add_painted (document, b, loom_image_get_pixels (first), 16, 8,
                                         stroke_id, 3);
  g_assert_cmpstr (candor_illustration_get_id (painted), ==, stroke_id);
  g_assert_cmpstr (candor_illustration_get_parent_id (painted), ==, candor_illustration_get_id (b));
  g_assert_true (candor_illustration_get_human_pixels (painted));
  g_assert_cmpstr (candor_illustration_get_source_type (painted), ==, CANDOR_SOURCE_TYPE_COMPOSITE);
  g_assert_cmpuint (candor_illustration_get_strokes (painted), ==, 3);
  g_assert_cmpuint (g_list_model_get_n_items (history), ==, 3);
  g_object_unref (painted);

  /* The chain of events still verifies. */
  g_assert_true (loom_event_log_verify (candor_document_get_log (document), NULL));
}

static void
test_place_undo_redo (void)
{
  g_autoptr(CandorDocument) document = candor_document_new ();
  g_autoptr(LoomImage) image = make_image (5, "a fox");
  g_autofree char *text = NULL;
  g_autoptr(LoomProvenanceSummary) summary = NULL;
  CandorIllustration *illustration;
  JsonObject *fields;

  type_at_end (document, "First line.\nSecond line.");
  illustration = candor_document_add_generated (document, image, NULL, FALSE, 0, 1);
  place_at (document, 12, illustration);   /* at the start of the second line */

  text = candor_document_dup_text (document);
  g_assert_cmpstr (text, ==, "First line.\n" OBJECT_CHAR "Second line.");
  assert_placed (document, illustration, 12);
  assert_runs_valid (document);

  fields = last_event (document, "image.place");
  g_assert_cmpstr (json_object_get_string_member (fields, "illustration"), ==,
                   candor_illustration_get_id (illustration));
  g_assert_cmpint (json_object_get_int_member (fields, "offset"), ==, 12);
  /* The passage is the paragraph it went into, before the picture. */
  g_assert_cmpint (json_object_get_int_member (fields, "passage_offset"), ==, 12);
  g_assert_cmpint (json_object_get_int_member (fields, "passage_length"), ==, 12);
  {
    g_autofree char *hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, "Second line.", -1);
    g_assert_cmpstr (json_object_get_string_member (fields, "passage_sha256"), ==, hash);
  }

  /* The picture is no character of the text in the summary. */
  summary = candor_document_dup_summary (document);
  g_assert_cmpuint (summary->total_chars, ==, 24);  /* 11 + newline + 12 */
  g_assert_cmpuint (summary->chars[LOOM_ORIGIN_HUMAN_TYPED], ==, 24);
  g_assert_cmpuint (summary->total_words, ==, 4);
  g_assert_cmpuint (summary->pictures, ==, 1);
  g_assert_cmpuint (summary->images_placed, ==, 1);
  g_assert_cmpuint (summary->image_rounds, ==, 1);

  /* One undo removes the picture; redo brings the picture back, not a bare character. */
  candor_document_undo (document);
  g_free (text);
  text = candor_document_dup_text (document);
  g_assert_cmpstr (text, ==, "First line.\nSecond line.");
  assert_placed (document, NULL, 0);
  assert_runs_valid (document);
  candor_document_redo (document);
  assert_placed (document, illustration, 12);
  assert_runs_valid (document);

  /* A plain U+FFFC typed before the picture is text, not a picture: deleting both and
   * undoing gives each back as it was. */
  {
    GtkTextBuffer *buffer = candor_document_get_buffer (document);
    GtkTextIter start, end;

    gtk_text_buffer_get_iter_at_offset (buffer, &start, 11);
    gtk_text_buffer_insert (buffer, &start, OBJECT_CHAR, -1);
    assert_placed (document, illustration, 13);
    gtk_text_buffer_get_iter_at_offset (buffer, &start, 11);
    gtk_text_buffer_get_iter_at_offset (buffer, &end, 14);
    gtk_text_buffer_delete (buffer, &start, &end);
    assert_placed (document, NULL, 0);
    candor_document_undo (document);
    assert_placed (document, illustration, 13);
    g_free (text);
    text = candor_document_dup_text (document);
    g_assert_cmpstr (text, ==, "First line." OBJECT_CHAR "\n" OBJECT_CHAR "Second line.");
    assert_runs_valid (document);
    candor_document_undo (document);
    assert_placed (document, illustration, 12);
  }

  /* Deleting it with the text around it, then undoing, restores the picture too. */
  delete_range (document, 6, 18);
  assert_placed (document, NULL, 0);
  assert_runs_valid (document);
  candor_document_undo (document);
  assert_placed (document, illustration, 12);
  assert_runs_valid (document);
  candor_document_redo (document);
  assert_placed (document, NULL, 0);
}

static void
test_save_load (void)
{
  g_autofree char *dir = candor_test_make_temp_dir ("candor-test-illustrations-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "story.candor", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(CandorDocument) document = candor_document_new ();
  g_autoptr(CandorDocument) loaded = NULL;
  g_autoptr(LoomImage) image_a = make_image (11, "a storm at sea");
  g_autoptr(LoomImage) image_b = make_image (12, "a calm sea");
  GListModel *history;
  CandorIllustration *a, *b, *loaded_b;
  g_autoptr(CandorIllustration) painted = NULL;

  type_at_end (document, "The sea rose.");
  a = candor_document_add_generated (document, image_a, NULL, FALSE, 0, 1);
  b = candor_document_add_generated (document, image_b, a, TRUE, 0, 1);
  candor_document_discard_illustration (document, a);
  painted = candor_document_add_painted (document, b, loom_image_get_pixels (image_a), 16, 8,
                                         candor_document_log_strokes (document, b, "brush", 2, 30), 2);
  place_at (document, 4, b);
  loaded = save_and_load (document, file);
  g_assert_true (loom_authorship_equal (candor_document_get_authorship (loaded),
                                        candor_document_get_authorship (document)));

  history = candor_document_get_illustrations (loaded);
  g_assert_cmpuint (g_list_model_get_n_items (history), ==, 3);
  loaded_b = candor_document_find_illustration (loaded, candor_illustration_get_id (b));
  g_assert_nonnull (loaded_b);
  assert_placed (loaded, loaded_b, 4);
  /* Pixels and record come back exactly. */
  g_assert_true (g_bytes_equal (loom_image_get_pixels (candor_illustration_get_image (loaded_b)),
                                loom_image_get_pixels (image_b)));
  {
    g_autoptr(JsonNode) want = loom_image_record_to_json (loom_image_get_record (image_b));
    g_autoptr(JsonNode) got = loom_image_record_to_json (candor_illustration_get_record (loaded_b));
    g_assert_true (json_node_equal (want, got));
  }
  g_assert_cmpstr (candor_illustration_get_parent_id (loaded_b), ==, candor_illustration_get_id (a));
  g_assert_true (candor_illustration_get_human_pixels (loaded_b));
  g_assert_cmpint (candor_illustration_get_state (candor_document_find_illustration (loaded, candor_illustration_get_id (a))),
                   ==, CANDOR_ILLUSTRATION_DISCARDED);
  g_assert_cmpuint (candor_illustration_get_strokes (candor_document_find_illustration (loaded, candor_illustration_get_id (painted))),
                    ==, 2);

  /* The loaded picture undoes and redoes as a picture. */
  delete_range (loaded, 4, 5);
  assert_placed (loaded, NULL, 0);
  candor_document_undo (loaded);
  assert_placed (loaded, loaded_b, 4);

  candor_test_remove_tree (dir);
}

/* Rewrites the saved file's JSON with @edit and expects the load to fail with a message
 * containing @expected. */
static void
assert_damaged_refused (const char *path,
                        const char *saved,
                        void      (*edit) (JsonObject *root),
                        const char *expected)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  g_autoptr(CandorDocument) loaded = NULL;
  g_autofree char *data = NULL;

  g_assert_true (json_parser_load_from_data (parser, saved, -1, NULL));
  edit (json_node_get_object (json_parser_get_root (parser)));
  json_generator_set_root (generator, json_parser_get_root (parser));
  data = json_generator_to_data (generator, NULL);
  g_assert_true (g_file_set_contents (path, data, -1, NULL));

  loaded = candor_document_load (file, &error);
  g_assert_null (loaded);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  if (strstr (error->message, expected) == NULL)
    g_error ("“%s” does not say “%s”", error->message, expected);
}

static JsonObject *
first_illustration (JsonObject *root)
{
  return json_array_get_object_element (json_object_get_array_member (root, "illustrations"), 0);
}

static void
corrupt_png (JsonObject *root)
{
  JsonObject *illustration = first_illustration (root);
  g_autofree char *png = g_strdup (json_object_get_string_member (illustration, "png"));

  /* A flipped byte inside the image data: a CRC mismatch. */
  png[strlen (png) / 2] = png[strlen (png) / 2] == 'A' ? 'B' : 'A';
  json_object_set_string_member (illustration, "png", png);
}

/* A record (and so a picture) claiming 4096×4096: refused before anything is decoded. */
static void
huge_record (JsonObject *root)
{
  JsonObject *record = json_object_get_object_member (first_illustration (root), "record");

  json_object_set_int_member (record, "width", 4096);
  json_object_set_int_member (record, "height", 4096);
}

static void
resize_record (JsonObject *root)
{
  json_object_set_int_member (json_object_get_object_member (first_illustration (root), "record"),
                              "width", 32);
}

static void
move_placement (JsonObject *root)
{
  JsonObject *placement = json_array_get_object_element (json_object_get_array_member (root, "placements"), 0);

  json_object_set_int_member (placement, "offset", 2);
}

static void
unknown_placement (JsonObject *root)
{
  JsonObject *placement = json_array_get_object_element (json_object_get_array_member (root, "placements"), 0);

  json_object_set_string_member (placement, "illustration", "no-such-picture");
}

static void
duplicate_illustration (JsonObject *root)
{
  JsonArray *list = json_object_get_array_member (root, "illustrations");

  json_array_add_element (list, json_node_copy (json_array_get_element (list, 0)));
}

static void
bad_state (JsonObject *root)
{
  json_object_set_string_member (first_illustration (root), "state", "favourite");
}

static void
no_record (JsonObject *root)
{
  json_object_remove_member (first_illustration (root), "record");
}

static void
test_damaged_files (void)
{
  g_autofree char *dir = candor_test_make_temp_dir ("candor-test-illustrations-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "story.candor", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(CandorDocument) document = candor_document_new ();
  g_autoptr(LoomImage) image = make_image (3, "a tower");
  g_autofree char *saved = NULL;
  CandorIllustration *illustration;

  type_at_end (document, "Tower.");
  illustration = candor_document_add_generated (document, image, NULL, FALSE, 0, 1);
  place_at (document, 6, illustration);
  g_assert_true (candor_document_save (document, file, NULL));
  g_assert_true (g_file_get_contents (path, &saved, NULL, NULL));

  assert_damaged_refused (path, saved, corrupt_png, "illustration");
  assert_damaged_refused (path, saved, resize_record, "size");
  assert_damaged_refused (path, saved, huge_record, "too large");
  assert_damaged_refused (path, saved, move_placement, "picture placed");
  assert_damaged_refused (path, saved, unknown_placement, "picture placed");
  assert_damaged_refused (path, saved, duplicate_illustration, "same id");
  assert_damaged_refused (path, saved, bad_state, "state");
  assert_damaged_refused (path, saved, no_record, "generation record");

  candor_test_remove_tree (dir);
}

static void
test_export_markdown (void)
{
  g_autofree char *dir = candor_test_make_temp_dir ("candor-test-illustrations-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "my story.md", NULL);
  g_autofree char *image_path = g_build_filename (dir, "my story-illustration-1.png", NULL);
  g_autofree char *sidecar_path = g_build_filename (dir, "my story.provenance.json", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(CandorDocument) document = candor_document_new ();
  g_autoptr(LoomImage) image = make_image (8, "a [red] kite");
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) png = NULL;
  g_autoptr(GBytes) pixels = NULL;
  g_autoptr(GHashTable) text_chunks = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *written = NULL;
  g_autofree char *png_data = NULL;
  gsize png_size;
  guint width, height;
  CandorIllustration *illustration;
  JsonObject *sidecar, *entry;

  type_at_end (document, "Kites.\n");
  illustration = candor_document_add_generated (document, image, NULL, FALSE, 0, 1);
  place_at (document, 7, illustration);
  type_at_end (document, "\nThe end.");
  candor_document_set_training_allowed (document, FALSE);

  g_assert_true (candor_document_export (document, file, &error));
  g_assert_no_error (error);

  g_assert_true (g_file_get_contents (path, &written, NULL, NULL));
  g_assert_cmpstr (written, ==, "Kites.\n![a  red  kite](my%20story-illustration-1.png)\nThe end.");

  /* The picture beside it: the same pixels, with the story's metadata. */
  g_assert_true (g_file_get_contents (image_path, &png_data, &png_size, NULL));
  png = g_bytes_new_take (g_steal_pointer (&png_data), png_size);
  pixels = loom_image_decode_png (png, &width, &height, &text_chunks, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (pixels, loom_image_get_pixels (image)));
  g_assert_nonnull (g_hash_table_lookup (text_chunks, "parameters"));
  g_assert_nonnull (strstr (g_hash_table_lookup (text_chunks, "XML:com.adobe.xmp"),
                            "DMI-PROHIBITED-AIMLTRAINING"));

  /* The sidecar lists it with its hash and record. */
  g_assert_true (json_parser_load_from_file (parser, sidecar_path, NULL));
  sidecar = json_node_get_object (json_parser_get_root (parser));
  entry = json_array_get_object_element (json_object_get_array_member (sidecar, "illustrations"), 0);
  g_assert_cmpstr (json_object_get_string_member (entry, "file_name"), ==, "my story-illustration-1.png");
  {
    g_autofree char *hash = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, png);
    g_assert_cmpstr (json_object_get_string_member (entry, "sha256"), ==, hash);
  }
  g_assert_cmpstr (json_object_get_string_member (entry, "digital_source_type"), ==, CANDOR_SOURCE_TYPE_AI);

  candor_test_remove_tree (dir);
}

static gboolean
is_null (gpointer data)
{
  return *(gpointer *) data == NULL;
}

/* A picture copied from another story (its own window) and pasted into this one is not
 * this story's illustration: it is saved as a bare object character, so the file opens
 * again; and once the other story is gone, its texture no longer leads to it. */
static void
test_foreign_picture (void)
{
  g_autofree char *dir = candor_test_make_temp_dir ("candor-test-illustrations-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "story.candor", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(CandorDocument) other = candor_document_new ();
  g_autoptr(CandorDocument) document = candor_document_new ();
  g_autoptr(CandorDocument) loaded = NULL;
  g_autoptr(LoomImage) image = make_image (5, "a harbour");
  g_autoptr(GdkPaintable) texture = NULL;
  g_autofree char *loaded_text = NULL;
  GtkTextBuffer *buffer = candor_document_get_buffer (document);
  CandorIllustration *illustration;
  GtkTextIter iter;

  illustration = candor_document_add_generated (other, image, NULL, FALSE, 0, 1);
  texture = g_object_ref (candor_illustration_get_paintable (illustration));
  type_at_end (document, "Quay.");

  gtk_text_buffer_get_end_iter (buffer, &iter);
  gtk_text_buffer_insert_paintable (buffer, &iter, GDK_PAINTABLE (texture));
  assert_placed (document, NULL, 0);
  assert_runs_valid (document);
  loaded = save_and_load (document, file);
  loaded_text = candor_document_dup_text (loaded);
  g_assert_cmpstr (loaded_text, ==, "Quay." OBJECT_CHAR);

  /* The story goes; its illustration with it, once its PNG (encoded in the background
   * for saving) is done. */
  g_object_add_weak_pointer (G_OBJECT (illustration), (gpointer *) &illustration);
  g_clear_object (&other);
  candor_test_wait_until (is_null, &illustration, 10000);
  g_assert_null (candor_illustration_from_paintable (GDK_PAINTABLE (texture)));
  gtk_text_buffer_get_end_iter (buffer, &iter);
  gtk_text_buffer_insert_paintable (buffer, &iter, GDK_PAINTABLE (texture));
  assert_placed (document, NULL, 0);
  assert_runs_valid (document);

  candor_test_remove_tree (dir);
}

static void
autosave_done_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  gboolean *done = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (candor_document_autosave_finish (CANDOR_DOCUMENT (source), result, &error));
  g_assert_no_error (error);
  *done = TRUE;
}

static gboolean
is_true (gpointer data)
{
  return *(gboolean *) data;
}

/* The window's autosave makes the file's text on a worker thread: the copy it writes
 * opens as the story it was (pictures and all); one discarded while it was being made
 * is not written at all. */
static void
test_autosave_async (void)
{
  g_autoptr(CandorDocument) document = candor_document_new ();
  g_autoptr(LoomImage) image = make_image (21, "a lantern");
  g_autoptr(GFile) autosave = candor_document_get_autosave_file (document);
  g_autoptr(CandorDocument) recovered = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *recovered_text = NULL;
  CandorIllustration *illustration;
  gboolean done = FALSE;

  type_at_end (document, "Lantern.");
  illustration = candor_document_add_generated (document, image, NULL, FALSE, 0, 1);
  place_at (document, 8, illustration);

  candor_document_autosave_async (document, NULL, autosave_done_cb, &done);
  candor_test_wait_until (is_true, &done, 30000);
  recovered = candor_document_recover (autosave, &error);
  g_assert_no_error (error);
  text = candor_document_dup_text (document);
  recovered_text = candor_document_dup_text (recovered);
  g_assert_cmpstr (recovered_text, ==, text);
  assert_placed (recovered, candor_document_find_illustration (recovered, candor_illustration_get_id (illustration)), 8);
  g_assert_true (g_bytes_equal (loom_image_get_pixels (candor_illustration_get_image (
                                  candor_document_find_illustration (recovered, candor_illustration_get_id (illustration)))),
                                loom_image_get_pixels (image)));
  g_clear_object (&recovered);

  candor_document_discard_autosave (document);
  g_assert_false (g_file_query_exists (autosave, NULL));
  done = FALSE;
  candor_document_autosave_async (document, NULL, autosave_done_cb, &done);
  candor_document_discard_autosave (document);   /* saved or closed meanwhile */
  candor_test_wait_until (is_true, &done, 30000);
  g_assert_false (g_file_query_exists (autosave, NULL));
}

/* A picture in the story is at most CANDOR_PICTURE_MAX_WIDTH wide, aspect kept; a
 * smaller one keeps its size. */
static void
test_picture_size (void)
{
  static const struct { int width, height, shown_width, shown_height; } cases[] = {
    { 16, 8, 16, 8 },
    { 480, 480, 480, 480 },
    { 768, 768, 480, 480 },
    { 960, 640, 480, 320 },
    { 512, 768, 480, 720 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GBytes) pixels = g_bytes_new_take (g_malloc0 ((gsize) cases[i].width * cases[i].height * 4),
                                                   (gsize) cases[i].width * cases[i].height * 4);
      g_autoptr(GdkTexture) texture = gdk_memory_texture_new (cases[i].width, cases[i].height,
                                                              GDK_MEMORY_R8G8B8A8, pixels,
                                                              (gsize) cases[i].width * 4);
      g_autoptr(GdkPaintable) paintable = candor_picture_paintable_new (texture);

      g_assert_cmpint (gdk_paintable_get_intrinsic_width (paintable), ==, cases[i].shown_width);
      g_assert_cmpint (gdk_paintable_get_intrinsic_height (paintable), ==, cases[i].shown_height);
      g_assert_true (candor_picture_paintable_get_texture (CANDOR_PICTURE_PAINTABLE (paintable)) == texture);
    }
}

int
main (int   argc,
      char *argv[])
{
  candor_test_init (&argc, &argv);

  g_test_add_func ("/app/document/illustrations/history-events", test_history_events);
  g_test_add_func ("/app/document/illustrations/place-undo-redo", test_place_undo_redo);
  g_test_add_func ("/app/document/illustrations/save-load", test_save_load);
  g_test_add_func ("/app/document/illustrations/damaged-files", test_damaged_files);
  g_test_add_func ("/app/document/illustrations/export-markdown", test_export_markdown);
  g_test_add_func ("/app/document/illustrations/foreign-picture", test_foreign_picture);
  g_test_add_func ("/app/document/illustrations/autosave-async", test_autosave_async);
  g_test_add_func ("/app/document/illustrations/picture-size", test_picture_size);

  return g_test_run ();
}
