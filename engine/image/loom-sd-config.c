/* loom-sd-config.c — names and derived values of a Stable Diffusion configuration. */
#include "config.h"

#include "image/loom-sd-config.h"

const char *
loom_sd_family_to_string (LoomSdFamily family)
{
  switch (family)
    {
    case LOOM_SD_FAMILY_SD1:
      return "sd1";
    case LOOM_SD_FAMILY_SD2:
      return "sd2";
    default:
      return "unknown";
    }
}

const char *
loom_sd_prediction_to_string (LoomSdPrediction prediction)
{
  switch (prediction)
    {
    case LOOM_SD_PREDICTION_EPSILON:
      return "epsilon";
    case LOOM_SD_PREDICTION_V:
      return "v";
    default:
      return "unknown";
    }
}

const char *
loom_sd_config_describe (const LoomSdConfig *config)
{
  g_return_val_if_fail (config != NULL, NULL);

  if (config->turbo)
    return "SD-Turbo";
  if (config->family == LOOM_SD_FAMILY_SD1)
    return "SD 1.x";
  return config->prediction == LOOM_SD_PREDICTION_V ? "SD 2.x (v)" : "SD 2.x";
}

guint
loom_sd_config_latent_factor (const LoomSdConfig *config)
{
  g_return_val_if_fail (config != NULL, 8);
  g_return_val_if_fail (config->vae_levels >= 1 && config->vae_levels <= LOOM_SD_MAX_LEVELS, 8);

  return 1u << (config->vae_levels - 1);
}
