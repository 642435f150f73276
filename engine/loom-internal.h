/* loom-internal.h — the engine's internal API in one include, for the engine's own
 * tools (candor-cli) and the test suites, which build with LOOM_COMPILATION.
 */
#pragma once

#if !defined(LOOM_COMPILATION)
#error "loom-internal.h is for the engine, candor-cli and the tests only."
#endif

#include "loom.h"

#include "formats/loom-gguf.h"
#include "formats/loom-png.h"
#include "formats/loom-safetensors.h"
#include "formats/loom-gguf-writer.h"
#include "formats/loom-quant.h"
#include "formats/loom-tensor-type.h"
#include "image/loom-clip-tokenizer.h"
#include "image/loom-image-model-private.h"
#include "image/loom-sd-checkpoint.h"
#include "image/loom-sd-config.h"
#include "image/loom-sd-networks.h"
#include "image/loom-sd-random-model.h"
#include "image/loom-sd-ref.h"
#include "image/loom-sd-sampler.h"
#include "ops/loom-op-case.h"
#include "ops/loom-op-check.h"
#include "ops/loom-ops.h"
#include "ops/loom-ops-push.h"
#include "ops/loom-ref.h"
#include "runtime/loom-progress.h"
#include "runtime/loom-stream.h"
#include "text/loom-llama-config.h"
#include "text/loom-llama-forward.h"
#include "text/loom-llama-ref.h"
#include "text/loom-random-model.h"
#include "text/loom-sampler.h"
#include "text/loom-text-model-private.h"
#include "text/loom-text-session-private.h"
#include "text/loom-tokenizer.h"
#include "runtime/loom-worker.h"
#include "vk/loom-buffer.h"
#include "vk/loom-command.h"
#include "vk/loom-device-private.h"
#include "vk/loom-instance.h"
#include "vk/loom-pipeline.h"
#include "vk/loom-pipeline-cache.h"
#include "vk/loom-profiler.h"
#include "vk/loom-spirv.h"
