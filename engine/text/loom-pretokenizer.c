/* loom-pretokenizer.c — the pre-tokenizer regexes of byte-level BPE, as scanners.
 *
 * Each scanner walks the code points of one chunk and tries the branches of its regex in
 * order, as llama.cpp's unicode.cpp does for the GPT-2 and Llama 3 expressions; the
 * results are the regex's, without a regex engine's cost or its own Unicode tables.
 * \p{L} and \p{N} are the Unicode general categories (GLib's tables) and \s is the
 * White_Space property. Where llama.cpp chains several expressions (the default
 * pre-tokenizer), each one splits the chunks the previous one left.
 */
#include "config.h"

#include "loom-tokenizer-private.h"

enum
{
  CLASS_PRESENT = 1 << 0, /* a code point inside the chunk; 0 means past its end */
  CLASS_LETTER = 1 << 1,
  CLASS_NUMBER = 1 << 2,
  CLASS_SPACE = 1 << 3,
  CLASS_PUNCT = 1 << 4,   /* the default pre-tokenizer's [\p{P}\$\+<=>\^~\|] */
};

#define OUT_OF_CHUNK G_MAXUINT32

typedef struct
{
  const gunichar *cpts;
  const guint8   *classes;
  gsize           end;        /* of the chunk being scanned */
  gsize           prev_end;   /* of the last pre-token */
  guint           max_digits; /* \p{N}{1,max_digits} (Llama 3 family) */
  GArray         *ends;       /* (element-type gsize) */
} Scan;

typedef void (*ScanFunc) (Scan *scan,
                          gsize begin);

static gboolean
is_white_space (gunichar c)
{
  switch (c)
    {
    case 0x09: case 0x0a: case 0x0b: case 0x0c: case 0x0d: case 0x20:
    case 0x85: case 0xa0: case 0x1680: case 0x2028: case 0x2029: case 0x202f:
    case 0x205f: case 0x3000:
      return TRUE;
    default:
      return c >= 0x2000 && c <= 0x200a;
    }
}

static guint8
classify (gunichar c)
{
  if (c < 0x80)
    {
      if (g_ascii_isalpha (c))
        return CLASS_PRESENT | CLASS_LETTER;
      if (g_ascii_isdigit (c))
        return CLASS_PRESENT | CLASS_NUMBER;
      if (is_white_space (c))
        return CLASS_PRESENT | CLASS_SPACE;
      /* ASCII punctuation and symbols except the backtick, which llama.cpp's expression
       * lists neither as \p{P} nor among the extra symbols. */
      if (g_ascii_ispunct (c) && c != '`')
        return CLASS_PRESENT | CLASS_PUNCT;
      return CLASS_PRESENT;
    }

  if (is_white_space (c))
    return CLASS_PRESENT | CLASS_SPACE;

  switch (g_unichar_type (c))
    {
    case G_UNICODE_LOWERCASE_LETTER:
    case G_UNICODE_MODIFIER_LETTER:
    case G_UNICODE_OTHER_LETTER:
    case G_UNICODE_TITLECASE_LETTER:
    case G_UNICODE_UPPERCASE_LETTER:
      return CLASS_PRESENT | CLASS_LETTER;
    case G_UNICODE_DECIMAL_NUMBER:
    case G_UNICODE_LETTER_NUMBER:
    case G_UNICODE_OTHER_NUMBER:
      return CLASS_PRESENT | CLASS_NUMBER;
    case G_UNICODE_CONNECT_PUNCTUATION:
    case G_UNICODE_DASH_PUNCTUATION:
    case G_UNICODE_CLOSE_PUNCTUATION:
    case G_UNICODE_FINAL_PUNCTUATION:
    case G_UNICODE_INITIAL_PUNCTUATION:
    case G_UNICODE_OTHER_PUNCTUATION:
    case G_UNICODE_OPEN_PUNCTUATION:
      return CLASS_PRESENT | CLASS_PUNCT;
    default:
      return CLASS_PRESENT;
    }
}

static inline gunichar
cpt_at (const Scan *scan,
        gsize       pos)
{
  return pos < scan->end ? scan->cpts[pos] : OUT_OF_CHUNK;
}

static inline guint8
class_at (const Scan *scan,
          gsize       pos)
{
  return pos < scan->end ? scan->classes[pos] : 0;
}

/* Ends the current pre-token at @end (nothing when it would be empty). */
static void
emit (Scan *scan,
      gsize end)
{
  if (end > scan->prev_end)
    g_array_append_val (scan->ends, end);
  scan->prev_end = end;
}

static inline gunichar
fold (gunichar c,
      gboolean ignore_case)
{
  return ignore_case && c < 0x80 ? (gunichar) g_ascii_tolower ((gchar) c) : c;
}

/* 's|'t|'re|'ve|'m|'ll|'d at @pos: its length, or 0. */
static gsize
contraction (const Scan *scan,
             gsize       pos,
             gboolean    ignore_case)
{
  gunichar a, b;

  if (scan->cpts[pos] != '\'' || pos + 1 >= scan->end)
    return 0;
  a = fold (scan->cpts[pos + 1], ignore_case);
  if (a == 's' || a == 't' || a == 'm' || a == 'd')
    return 2;
  if (pos + 2 >= scan->end)
    return 0;
  b = fold (scan->cpts[pos + 2], ignore_case);
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
    return 3;
  return 0;
}

/* \s*[\r\n]+|\s+(?!\S)|\s+ (the first branch only when @newlines): the end of the match
 * at @pos, or @pos when there is no white space there. */
static gsize
match_space (const Scan *scan,
             gsize       pos,
             gboolean    newlines)
{
  gsize n = 0;
  gsize after_newline = 0;

  while (class_at (scan, pos + n) & CLASS_SPACE)
    {
      gunichar c = scan->cpts[pos + n];
      if (newlines && (c == '\r' || c == '\n'))
        after_newline = pos + n + 1;
      n++;
    }

  if (after_newline > 0)
    return after_newline;
  /* Before anything but the chunk's end, the last white space is left to prefix the
   * next pre-token. */
  if (n > 1 && pos + n < scan->end)
    return pos + n - 1;
  return pos + n;
}

/* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
static void
scan_gpt2 (Scan *scan,
           gsize begin)
{
  gsize pos = begin;

  while (pos < scan->end)
    {
      gboolean space = scan->cpts[pos] == ' ';
      guint8 first = space ? class_at (scan, pos + 1) : scan->classes[pos];
      gsize n;

      if ((n = contraction (scan, pos, FALSE)) > 0)
        {
          pos += n;
          emit (scan, pos);
          continue;
        }

      if (first & (CLASS_LETTER | CLASS_NUMBER))
        {
          guint8 run = first & (CLASS_LETTER | CLASS_NUMBER);
          pos += space;
          while (class_at (scan, pos) & run)
            pos++;
          emit (scan, pos);
          continue;
        }

      if (first != 0 && !(first & (CLASS_SPACE | CLASS_LETTER | CLASS_NUMBER)))
        {
          guint8 c;
          pos += space;
          while ((c = class_at (scan, pos)) != 0
                 && !(c & (CLASS_SPACE | CLASS_LETTER | CLASS_NUMBER)))
            pos++;
          emit (scan, pos);
          continue;
        }

      n = match_space (scan, pos, FALSE);
      pos = n > pos ? n : pos + 1;
      emit (scan, pos);
    }
}

/* (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
 * \s*[\r\n]+|\s+(?!\S)|\s+ — Qwen2 has \p{N} where Llama 3 has \p{N}{1,3}. */
static void
scan_llama3 (Scan *scan,
             gsize begin)
{
  gsize pos = begin;

  while (pos < scan->end)
    {
      gunichar c = scan->cpts[pos];
      guint8 cls = scan->classes[pos];
      guint8 first;
      gsize n;

      if ((n = contraction (scan, pos, TRUE)) > 0)
        {
          pos += n;
          emit (scan, pos);
          continue;
        }

      if (c != '\r' && c != '\n' && !(cls & CLASS_NUMBER)
          && ((cls & CLASS_LETTER) || (class_at (scan, pos + 1) & CLASS_LETTER)))
        {
          pos++;
          while (class_at (scan, pos) & CLASS_LETTER)
            pos++;
          emit (scan, pos);
          continue;
        }

      if (cls & CLASS_NUMBER)
        {
          gsize start = pos;
          while (class_at (scan, pos) & CLASS_NUMBER)
            {
              pos++;
              if (pos - start >= scan->max_digits)
                {
                  emit (scan, pos);
                  start = pos;
                }
            }
          emit (scan, pos);
          continue;
        }

      first = c == ' ' ? class_at (scan, pos + 1) : cls;
      if (!(first & (CLASS_SPACE | CLASS_LETTER | CLASS_NUMBER)))
        {
          guint8 next;
          pos += c == ' ';
          while ((next = class_at (scan, pos)) != 0
                 && !(next & (CLASS_SPACE | CLASS_LETTER | CLASS_NUMBER)))
            pos++;
          while (cpt_at (scan, pos) == '\r' || cpt_at (scan, pos) == '\n')
            pos++;
          emit (scan, pos);
          continue;
        }

      n = match_space (scan, pos, TRUE);
      pos = n > pos ? n : pos + 1;
      emit (scan, pos);
    }
}

/* Splits where membership of @flag changes: a regex [class]+ keeps its matches and the
 * text between them as pre-tokens. */
static void
scan_runs (Scan  *scan,
           gsize  begin,
           guint8 flag)
{
  for (gsize pos = begin + 1; pos < scan->end; pos++)
    if ((scan->classes[pos] & flag) != (scan->classes[pos - 1] & flag))
      emit (scan, pos);
  emit (scan, scan->end);
}

/* [\p{P}\$\+<=>\^~\|]+ */
static void
scan_punct_runs (Scan *scan,
                 gsize begin)
{
  scan_runs (scan, begin, CLASS_PUNCT);
}

/* \p{N}+ */
static void
scan_number_runs (Scan *scan,
                  gsize begin)
{
  scan_runs (scan, begin, CLASS_NUMBER);
}

/* [0-9][0-9][0-9] */
static void
scan_digit_triples (Scan *scan,
                    gsize begin)
{
  gsize pos = begin;

  while (pos + 3 <= scan->end)
    {
      if (g_ascii_isdigit (scan->cpts[pos]) && g_ascii_isdigit (scan->cpts[pos + 1])
          && g_ascii_isdigit (scan->cpts[pos + 2]))
        {
          emit (scan, pos);
          pos += 3;
          emit (scan, pos);
        }
      else
        pos++;
    }
  emit (scan, scan->end);
}

void
loom_pretokenize (LoomPreTokenizer kind,
                  const gunichar  *cpts,
                  gsize            n,
                  GArray          *ends)
{
  static const ScanFunc gpt2_passes[] = { scan_gpt2 };
  static const ScanFunc llama3_passes[] = { scan_llama3 };
  static const ScanFunc default_passes[] = {
    scan_punct_runs, scan_gpt2, scan_number_runs, scan_digit_triples,
  };
  g_autofree guint8 *classes = NULL;
  g_autoptr(GArray) chunks = NULL;
  const ScanFunc *passes;
  guint n_passes;
  Scan scan = { cpts, NULL, 0, 0, 3, NULL };

  if (n == 0)
    return;

  classes = g_new (guint8, n);
  for (gsize i = 0; i < n; i++)
    classes[i] = classify (cpts[i]);
  scan.classes = classes;

  switch (kind)
    {
    case LOOM_PRE_GPT2:
      passes = gpt2_passes;
      n_passes = G_N_ELEMENTS (gpt2_passes);
      break;
    case LOOM_PRE_LLAMA3:
      passes = llama3_passes;
      n_passes = G_N_ELEMENTS (llama3_passes);
      break;
    case LOOM_PRE_QWEN2:
      passes = llama3_passes;
      n_passes = G_N_ELEMENTS (llama3_passes);
      scan.max_digits = 1;
      break;
    case LOOM_PRE_DEFAULT:
    default:
      passes = default_passes;
      n_passes = G_N_ELEMENTS (default_passes);
      break;
    }

  /* Every pass splits each chunk the previous pass left, on its own. */
  chunks = g_array_new (FALSE, FALSE, sizeof (gsize));
  g_array_append_val (chunks, n);
  for (guint p = 0; p < n_passes; p++)
    {
      GArray *next = p + 1 == n_passes ? ends : g_array_new (FALSE, FALSE, sizeof (gsize));
      gsize begin = 0;

      scan.ends = next;
      for (guint c = 0; c < chunks->len; c++)
        {
          scan.end = g_array_index (chunks, gsize, c);
          scan.prev_end = begin;
          passes[p] (&scan, begin);
          begin = scan.end;
        }
      if (next != ends)
        {
          g_array_unref (chunks);
          chunks = next;
        }
    }
}
