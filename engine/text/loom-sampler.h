/* loom-sampler.h — choose the next token from logits.
 *
 * Two modes. The default: repetition penalty, then greedy when the temperature is 0, else
 * top-k, temperature, top-p and min-p, sampled with a seeded xorshift64* generator, so a
 * seed gives the same choices on every machine (given the same logits). The llama2.c
 * mode reproduces llama2.c's sampler exactly — its generator, its single coin per step,
 * its softmax in float and its top-p rule — so its published outputs can be matched.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "This header is internal to Loom."
#endif

#include <glib.h>

#include "text/loom-text-session.h"

G_BEGIN_DECLS

typedef struct _LoomSampler LoomSampler;

LoomSampler *loom_sampler_new    (const LoomGenerateOptions *options);
void         loom_sampler_free   (LoomSampler               *self);
/* @logits (n_vocab floats) is used as scratch. @recent: the last tokens of the sequence,
 * for the repetition penalty. */
guint32      loom_sampler_sample (LoomSampler               *self,
                                  float                     *logits,
                                  guint                      n_vocab,
                                  const guint32             *recent,
                                  gsize                      n_recent);

/* The first largest logit: greedy decoding, as llama2.c's sample_argmax. */
guint32      loom_sampler_argmax (const float               *logits,
                                  guint                      n_vocab);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LoomSampler, loom_sampler_free)

G_END_DECLS
