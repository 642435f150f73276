/* loom-sampler.c — sampling strategies. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "loom-sampler.h"

struct _LoomSampler
{
  LoomGenerateOptions options;  /* the stop strings are not kept */
  guint64             state;    /* xorshift64* state; never 0 */
  GArray             *candidates;
};

typedef struct
{
  float   prob;
  guint32 index;
} Candidate;

LoomSampler *
loom_sampler_new (const LoomGenerateOptions *options)
{
  LoomSampler *self = g_new0 (LoomSampler, 1);

  self->options = *options;
  self->options.stop = NULL;
  /* xorshift64* is stuck at 0; llama2.c users pass non-zero seeds, others get one. */
  self->state = options->seed != 0 ? options->seed : G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);
  self->candidates = g_array_new (FALSE, FALSE, sizeof (Candidate));
  return self;
}

void
loom_sampler_free (LoomSampler *self)
{
  if (self == NULL)
    return;
  g_array_unref (self->candidates);
  g_free (self);
}

/* xorshift64*, as llama2.c's random_u32. */
static guint32
random_u32 (LoomSampler *self)
{
  self->state ^= self->state >> 12;
  self->state ^= self->state << 25;
  self->state ^= self->state >> 27;
  return (guint32) ((self->state * G_GUINT64_CONSTANT (0x2545F4914F6CDD1D)) >> 32);
}

/* A float in [0, 1) with 24 random bits, as llama2.c's random_f32. */
static float
random_f32 (LoomSampler *self)
{
  return (random_u32 (self) >> 8) / 16777216.0f;
}

guint32
loom_sampler_argmax (const float *logits,
                     guint        n)
{
  guint32 best = 0;

  for (guint i = 1; i < n; i++)
    if (logits[i] > logits[best])
      best = i;
  return best;
}

/* In float, in llama2.c's order of operations, so that its sampling is reproduced. */
static void
softmax_f32 (float *x,
             guint  n)
{
  float max = x[0], sum = 0.0f;

  for (guint i = 1; i < n; i++)
    if (x[i] > max)
      max = x[i];
  for (guint i = 0; i < n; i++)
    {
      x[i] = expf (x[i] - max);
      sum += x[i];
    }
  for (guint i = 0; i < n; i++)
    x[i] /= sum;
}

static int
by_prob_descending (const void *a,
                    const void *b)
{
  const Candidate *x = a, *y = b;

  if (x->prob > y->prob)
    return -1;
  if (x->prob < y->prob)
    return 1;
  return 0;
}

/* llama2.c's sample_mult: the first index whose cumulative probability exceeds coin. */
static guint32
sample_multinomial (const float *probs,
                    guint        n,
                    float        coin)
{
  float cdf = 0.0f;

  for (guint i = 0; i < n; i++)
    {
      cdf += probs[i];
      if (coin < cdf)
        return i;
    }
  return n - 1;
}

/* llama2.c's sample_topp: candidates at least (1 − top_p)/(n − 1) likely, sorted, cut
 * where the cumulative sum first exceeds top_p, sampled with coin · that sum. */
static guint32
sample_top_p_llama2c (LoomSampler *self,
                      const float *probs,
                      guint        n,
                      float        top_p,
                      float        coin)
{
  const float cutoff = (1.0f - top_p) / (n - 1);
  Candidate *c;
  guint kept = 0, last;
  float cumulative = 0.0f, r, cdf = 0.0f;

  g_array_set_size (self->candidates, n);
  c = (Candidate *) self->candidates->data;
  for (guint i = 0; i < n; i++)
    if (probs[i] >= cutoff)
      c[kept++] = (Candidate) { probs[i], i };
  qsort (c, kept, sizeof (Candidate), by_prob_descending);

  last = kept - 1;
  for (guint i = 0; i < kept; i++)
    {
      cumulative += c[i].prob;
      if (cumulative > top_p)
        {
          last = i;
          break;
        }
    }

  r = coin * cumulative;
  for (guint i = 0; i <= last; i++)
    {
      cdf += c[i].prob;
      if (r < cdf)
        return c[i].index;
    }
  return c[last].index;
}

static guint32
sample_llama2c (LoomSampler *self,
                float       *logits,
                guint        n)
{
  float temperature = self->options.temperature;
  float top_p = self->options.top_p;
  float coin;

  if (temperature == 0.0f)
    return loom_sampler_argmax (logits, n);
  for (guint i = 0; i < n; i++)
    logits[i] /= temperature;
  softmax_f32 (logits, n);
  coin = random_f32 (self);
  if (top_p <= 0.0f || top_p >= 1.0f)
    return sample_multinomial (logits, n, coin);
  return sample_top_p_llama2c (self, logits, n, top_p, coin);
}

/* llama.cpp's penalty: a repeated token's logit moves towards “less likely”. */
static void
apply_repeat_penalty (const LoomGenerateOptions *o,
                      float                     *logits,
                      guint                      n,
                      const guint32             *recent,
                      gsize                      n_recent)
{
  gsize from = n_recent > o->repeat_last_n ? n_recent - o->repeat_last_n : 0;
  g_autoptr(GHashTable) seen = NULL;

  if (o->repeat_penalty == 1.0f || o->repeat_last_n == 0)
    return;
  seen = g_hash_table_new (NULL, NULL);
  for (gsize i = from; i < n_recent; i++)
    {
      guint32 t = recent[i];
      if (t >= n || !g_hash_table_add (seen, GUINT_TO_POINTER (t + 1)))
        continue;
      logits[t] = logits[t] > 0.0f ? logits[t] / o->repeat_penalty : logits[t] * o->repeat_penalty;
    }
}

static guint32
sample_default (LoomSampler   *self,
                float         *logits,
                guint          n,
                const guint32 *recent,
                gsize          n_recent)
{
  const LoomGenerateOptions *o = &self->options;
  Candidate *c;
  guint kept;
  double sum = 0.0, cumulative = 0.0, coin;
  float max;

  apply_repeat_penalty (o, logits, n, recent, n_recent);
  if (o->temperature <= 0.0f)
    return loom_sampler_argmax (logits, n);

  g_array_set_size (self->candidates, n);
  c = (Candidate *) self->candidates->data;
  for (guint i = 0; i < n; i++)
    c[i] = (Candidate) { logits[i], i };
  /* Sorting by logit puts the likeliest first; ties keep the lower id first. */
  qsort (c, n, sizeof (Candidate), by_prob_descending);
  kept = o->top_k > 0 ? MIN (o->top_k, n) : n;

  /* Probabilities at the temperature, over the top k. */
  max = c[0].prob;
  for (guint i = 0; i < kept; i++)
    {
      c[i].prob = (float) exp ((c[i].prob - max) / o->temperature);
      sum += c[i].prob;
    }
  for (guint i = 0; i < kept; i++)
    c[i].prob = (float) (c[i].prob / sum);

  /* min-p: drop what is less likely than min_p times the likeliest. */
  if (o->min_p > 0.0f)
    {
      guint keep = 1;
      while (keep < kept && c[keep].prob >= o->min_p * c[0].prob)
        keep++;
      kept = keep;
    }
  /* top-p: the smallest head whose probability reaches top_p. */
  if (o->top_p > 0.0f && o->top_p < 1.0f)
    {
      double head = 0.0;
      guint keep = 0;
      while (keep < kept && head < o->top_p)
        head += c[keep++].prob;
      kept = MAX (keep, 1);
    }

  sum = 0.0;
  for (guint i = 0; i < kept; i++)
    sum += c[i].prob;
  coin = random_f32 (self) * sum;
  for (guint i = 0; i < kept; i++)
    {
      cumulative += c[i].prob;
      if (coin < cumulative)
        return c[i].index;
    }
  return c[kept - 1].index;
}

guint32
loom_sampler_sample (LoomSampler   *self,
                     float         *logits,
                     guint          n_vocab,
                     const guint32 *recent,
                     gsize          n_recent)
{
  g_return_val_if_fail (n_vocab > 0, 0);

  if (self->options.llama2c)
    return sample_llama2c (self, logits, n_vocab);
  return sample_default (self, logits, n_vocab, recent, n_recent);
}
