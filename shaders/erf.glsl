// erf.glsl — the error function, for GELU in its erf form (PyTorch's default).

// erf by Abramowitz and Stegun 7.1.26: absolute error below 1.5e-7.
vec4 loom_erf (vec4 v)
{
  vec4 s = sign (v);
  vec4 a = abs (v);
  vec4 t = 1.0 / (1.0 + 0.3275911 * a);
  vec4 poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741
              + t * (-1.453152027 + t * 1.061405429))));
  return s * (1.0 - poly * exp (-a * a));
}

// 0.5·x·(1 + erf(x/√2)).
vec4 loom_gelu_erf (vec4 v)
{
  return 0.5 * v * (1.0 + loom_erf (v * 0.7071067812));
}
