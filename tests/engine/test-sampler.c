/* test-sampler.c — the sampling strategies on crafted distributions. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "loom-test-util.h"

#define N 8

static guint32
sample (const LoomGenerateOptions *options,
        const float               *logits,
        const guint32             *recent,
        gsize                      n_recent)
{
  g_autoptr(LoomSampler) sampler = loom_sampler_new (options);
  float scratch[N];

  memcpy (scratch, logits, sizeof scratch);
  return loom_sampler_sample (sampler, scratch, N, recent, n_recent);
}

/* Logits whose softmax is 0.5, 0.25, 0.125, … for tokens 3, 1, 6, … */
static const float ladder[N] = { -4.0f, -1.0f, -6.0f, 0.0f, -5.0f, -7.0f, -2.0f, -3.0f };

static void
test_greedy (void)
{
  LoomGenerateOptions options;

  loom_generate_options_init (&options);
  options.temperature = 0.0f;
  g_assert_cmpuint (sample (&options, ladder, NULL, 0), ==, 3);
  options.llama2c = TRUE;
  g_assert_cmpuint (sample (&options, ladder, NULL, 0), ==, 3);
}

/* top-k 1 and min-p near 1 leave only the likeliest token, at any temperature. */
static void
test_filters_leave_the_best (void)
{
  LoomGenerateOptions options;

  loom_generate_options_init (&options);
  options.temperature = 5.0f;
  options.min_p = 0.0f;
  options.top_p = 1.0f;
  for (guint64 seed = 1; seed < 50; seed++)
    {
      options.seed = seed;
      options.top_k = 1;
      g_assert_cmpuint (sample (&options, ladder, NULL, 0), ==, 3);
      options.top_k = 0;
      options.min_p = 0.99f;
      g_assert_cmpuint (sample (&options, ladder, NULL, 0), ==, 3);
      options.min_p = 0.0f;
    }
}

/* top-p 0.7 keeps tokens 3 and 1 (0.5 + 0.25 at temperature 1, renormalised): over many
 * seeds, both and only both appear, about 2:1. */
static void
test_top_p (void)
{
  LoomGenerateOptions options;
  guint counts[N] = { 0 };
  float logits[N];

  loom_generate_options_init (&options);
  options.temperature = 1.0f;
  options.top_k = 0;
  options.min_p = 0.0f;
  options.top_p = 0.7f;
  /* An exact ladder of halves: logits ln(2)·rank. */
  for (guint i = 0; i < N; i++)
    logits[i] = ladder[i] * (float) G_LN2;
  for (guint64 seed = 1; seed <= 3000; seed++)
    {
      options.seed = seed;
      counts[sample (&options, logits, NULL, 0)]++;
    }
  for (guint i = 0; i < N; i++)
    if (i != 3 && i != 1)
      g_assert_cmpuint (counts[i], ==, 0);
  g_assert_cmpfloat (fabs ((double) counts[3] / counts[1] - 2.0), <, 0.3);
}

/* The same seed makes the same choices. */
static void
test_seeded (void)
{
  LoomGenerateOptions options;
  g_autoptr(LoomSampler) a = NULL, b = NULL;

  loom_generate_options_init (&options);
  options.temperature = 2.0f;
  options.top_k = 0;
  options.min_p = 0.0f;
  options.seed = 42;
  a = loom_sampler_new (&options);
  b = loom_sampler_new (&options);
  for (guint step = 0; step < 100; step++)
    {
      float x[N], y[N];
      memcpy (x, ladder, sizeof x);
      memcpy (y, ladder, sizeof y);
      g_assert_cmpuint (loom_sampler_sample (a, x, N, NULL, 0), ==,
                        loom_sampler_sample (b, y, N, NULL, 0));
    }
}

/* The penalty makes a repeated favourite less likely than the runner-up. */
static void
test_repeat_penalty (void)
{
  LoomGenerateOptions options;
  const guint32 recent[] = { 3, 3, 3 };
  float close[N] = { 0, 1.9f, 0, 2.0f, 0, 0, 0, 0 };

  loom_generate_options_init (&options);
  options.temperature = 0.0f;
  g_assert_cmpuint (sample (&options, close, recent, G_N_ELEMENTS (recent)), ==, 3);
  options.repeat_penalty = 1.2f;
  g_assert_cmpuint (sample (&options, close, recent, G_N_ELEMENTS (recent)), ==, 1);
  /* Outside the window the penalty does not look. */
  options.repeat_last_n = 0;
  g_assert_cmpuint (sample (&options, close, recent, G_N_ELEMENTS (recent)), ==, 3);
}

/* llama2.c's mode, computed by hand: with seed 1 its xorshift64* gives the coin below;
 * top-p 0.9 over probabilities ½, ¼, ⅛, … keeps 3, 1, 6, 7 (cumulative 0.9375 > 0.9),
 * and the coin times that sum picks the token whose cumulative range holds it. */
static void
test_llama2c (void)
{
  LoomGenerateOptions options;
  guint64 state = 1;
  guint32 bits;
  float coin, r, cdf = 0.0f, logits[N], probs[4], kept = 0.0f;
  const guint32 order[] = { 3, 1, 6, 7 };
  double sum = 0.0;
  guint32 expected = 7;

  /* The exact probabilities: 2^ladder / Σ 2^ladder. */
  for (guint i = 0; i < N; i++)
    sum += exp2 (ladder[i]);
  for (guint i = 0; i < 4; i++)
    {
      probs[i] = (float) (exp2 (ladder[order[i]]) / sum);
      kept += probs[i];
    }

  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  bits = (guint32) ((state * G_GUINT64_CONSTANT (0x2545F4914F6CDD1D)) >> 32);
  coin = (bits >> 8) / 16777216.0f;
  r = coin * kept;
  for (guint i = 0; i < 4; i++)
    {
      cdf += probs[i];
      if (r < cdf)
        {
          expected = order[i];
          break;
        }
    }

  for (guint i = 0; i < N; i++)
    logits[i] = ladder[i] * (float) G_LN2;
  loom_generate_options_init (&options);
  options.llama2c = TRUE;
  options.temperature = 1.0f;
  options.top_p = 0.9f;
  options.seed = 1;
  g_assert_cmpuint (sample (&options, logits, NULL, 0), ==, expected);
}

int
main (int   argc,
      char *argv[])
{
  loom_test_init (&argc, &argv);

  g_test_add_func ("/engine/sampler/greedy", test_greedy);
  g_test_add_func ("/engine/sampler/filters-leave-the-best", test_filters_leave_the_best);
  g_test_add_func ("/engine/sampler/top-p", test_top_p);
  g_test_add_func ("/engine/sampler/seeded", test_seeded);
  g_test_add_func ("/engine/sampler/repeat-penalty", test_repeat_penalty);
  g_test_add_func ("/engine/sampler/llama2c", test_llama2c);

  return loom_test_run ();
}
