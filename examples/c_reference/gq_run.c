/* gq_run.c: a standalone C99 reference for a model exported by `gammaq export --format c`.
 * No gammaq code: it runs the header's node table on one image and prints the output codes
 * and the class (the index of the largest code; ties: the lower index, ONNX ArgMax's rule).
 *
 *   cc -std=c99 -O2 -DGQ_MODEL=gq_googlenet -include out/gq_googlenet.h gq_run.c -lm -o gq_run
 *   ./gq_run < input_codes.txt
 *
 * Input: the input tensor's integer codes (C*H*W of them, whitespace-separated), i.e. the
 * image already preprocessed and quantized to the input format (gammaq's test writes them).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define GQ_CAT2(a, b) a##b
#define GQ_CAT(a, b) GQ_CAT2(a, b)
#define GQ(x) GQ_CAT(GQ_MODEL, x)

typedef GQ(_value) value_t;
typedef GQ(_node) node_t;

static int64_t* vals[GQ(_NUM_VALUES)];

static int64_t numel(int id) {
  const value_t* v = &GQ(_values)[id];
  return (int64_t)v->c * v->h * v->w;
}

/* floor(a / 2^s) for 0 <= s < 63 without relying on >> of negatives. */
static int64_t floor_shift(int64_t a, int s) {
  return a >= 0 ? a >> s : -((-(a + 1)) >> s) - 1;
}

static int64_t saturate(int64_t q, const value_t* f) {
  const int64_t lo = f->is_signed ? -((int64_t)1 << (f->bits - 1)) : 0;
  const int64_t hi = f->is_signed ? ((int64_t)1 << (f->bits - 1)) - 1 : ((int64_t)1 << f->bits) - 1;
  return q < lo ? lo : (q > hi ? hi : q);
}

/* Rounds t + r/den (0 <= r < den) to an integer with the model's tie rule. */
static int64_t round_up(int64_t t, int64_t r, int64_t den, int negative) {
  const int64_t twice = 2 * r;
  int up;
  switch (GQ(_ROUNDING)) {
    case 0: up = twice > den || (twice == den && (t & 1)); break;
    case 1: up = twice > den || (twice == den && !negative); break;
    default: up = twice >= den; break;
  }
  return t + up;
}

/* R(acc * 2^-s), saturated to f. */
static int64_t requantize(int64_t acc, int s, const value_t* f) {
  if (s <= 0) {
    const int k = -s;
    if (acc == 0) return 0;
    if (k >= 62 || (acc > 0 ? acc : -acc) > ((int64_t)1 << (62 - k))) return saturate(acc > 0 ? INT64_MAX : INT64_MIN, f);
    return saturate(acc * ((int64_t)1 << k), f);
  }
  if (s > 62) return 0;
  {
    const int64_t t = floor_shift(acc, s);
    const int64_t r = acc - t * ((int64_t)1 << s);
    return saturate(round_up(t, r, (int64_t)1 << s, acc < 0), f);
  }
}

/* R(num * 2^-s / den), saturated (average pooling). */
static int64_t requantize_ratio(int64_t num, int64_t den, int s, const value_t* f) {
  int64_t t, r;
  if (s < 0) num *= (int64_t)1 << -s;
  if (s > 0) den *= (int64_t)1 << s;
  t = num / den;
  r = num % den;
  if (r < 0) {
    r += den;
    t -= 1;
  }
  return saturate(round_up(t, r, den, num < 0), f);
}

static int64_t stage(const node_t* n, int64_t acc, int64_t ch, const value_t* out) {
  const int s = n->n_shift == 1 ? n->shift[0] : n->shift[ch];
  int64_t q = requantize(acc, s, out);
  if (q < n->lo) q = n->lo;
  if (q > n->hi) q = n->hi;
  return q;
}

static int64_t weight(const node_t* n, int64_t i) {
  return n->weight_bytes == 1 ? ((const int8_t*)n->w)[i]
         : n->weight_bytes == 2 ? ((const int16_t*)n->w)[i]
                                : ((const int32_t*)n->w)[i];
}

static void run_node(const node_t* n) {
  const value_t* xi = &GQ(_values)[n->in[0]];
  const value_t* yo = &GQ(_values)[n->out];
  const int64_t* x = vals[n->in[0]];
  int64_t* y = vals[n->out];
  int64_t m, oy, ox, c, ky, kx, i;
  switch (n->op) {
    case GQ(_CONV): {
      const int64_t cg = xi->c / n->group, mg = yo->c / n->group;
      for (m = 0; m < yo->c; ++m)
        for (oy = 0; oy < yo->h; ++oy)
          for (ox = 0; ox < yo->w; ++ox) {
            int64_t acc = n->bias ? n->bias[m] : 0;
            for (c = 0; c < cg; ++c)
              for (ky = 0; ky < n->kh; ++ky)
                for (kx = 0; kx < n->kw; ++kx) {
                  const int64_t iy = oy * n->sh - n->pt + ky * n->dh;
                  const int64_t ix = ox * n->sw - n->pl + kx * n->dw;
                  if (iy < 0 || iy >= xi->h || ix < 0 || ix >= xi->w) continue;
                  acc += weight(n, ((m * cg + c) * n->kh + ky) * n->kw + kx) *
                         x[((m / mg) * cg + c) * xi->h * xi->w + iy * xi->w + ix];
                }
            y[(m * yo->h + oy) * yo->w + ox] = stage(n, acc, m, yo);
          }
      return;
    }
    case GQ(_GEMM): {
      const int64_t k = numel(n->in[0]);
      for (m = 0; m < yo->c; ++m) {
        int64_t acc = n->bias ? n->bias[m] : 0;
        for (i = 0; i < k; ++i) acc += weight(n, m * k + i) * x[i];
        y[m] = stage(n, acc, m, yo);
      }
      return;
    }
    case GQ(_MAXPOOL):
    case GQ(_AVGPOOL):
      for (c = 0; c < yo->c; ++c)
        for (oy = 0; oy < yo->h; ++oy)
          for (ox = 0; ox < yo->w; ++ox) {
            int64_t best = INT64_MIN, sum = 0, count = 0;
            for (ky = 0; ky < n->kh; ++ky)
              for (kx = 0; kx < n->kw; ++kx) {
                const int64_t iy = oy * n->sh - n->pt + ky * n->dh;
                const int64_t ix = ox * n->sw - n->pl + kx * n->dw;
                const int inside = iy >= 0 && iy < xi->h && ix >= 0 && ix < xi->w;
                if (n->op == GQ(_AVGPOOL) && (iy >= xi->h + n->pb || ix >= xi->w + n->pr)) continue;
                if (inside) {
                  const int64_t v = x[(c * xi->h + iy) * xi->w + ix];
                  best = v > best ? v : best;
                  sum += v;
                }
                if (inside || n->count_include_pad) ++count;
              }
            i = (c * yo->h + oy) * yo->w + ox;
            if (n->op == GQ(_MAXPOOL)) {
              y[i] = stage(n, best, 0, yo);
            } else {
              int64_t q = count ? requantize_ratio(sum, count, n->shift[0], yo) : 0;
              y[i] = q < n->lo ? n->lo : (q > n->hi ? n->hi : q);
            }
          }
      return;
    case GQ(_GLOBALAVGPOOL):
      for (c = 0; c < xi->c; ++c) {
        int64_t sum = 0, q;
        for (i = 0; i < xi->h * xi->w; ++i) sum += x[c * xi->h * xi->w + i];
        q = requantize_ratio(sum, xi->h * xi->w, n->shift[0], yo);
        y[c] = q < n->lo ? n->lo : (q > n->hi ? n->hi : q);
      }
      return;
    case GQ(_LRN): {
      const int64_t hw = xi->h * xi->w, before = (n->lrn_size - 1) / 2, after = n->lrn_size - 1 - before;
      for (c = 0; c < xi->c; ++c)
        for (i = 0; i < hw; ++i) {
          int64_t s = 0, k;
          double d;
          int64_t mult;
          for (k = c - before < 0 ? 0 : c - before; k <= (c + after < xi->c ? c + after : xi->c - 1); ++k)
            s += x[k * hw + i] * x[k * hw + i];
          d = n->lrn_bias + n->lrn_alpha / (double)n->lrn_size * ldexp((double)s, -2 * xi->frac);
          mult = (int64_t)nearbyint(ldexp(pow(d, -n->lrn_beta), 30));
          y[c * hw + i] = stage(n, x[c * hw + i] * mult, 0, yo);
        }
      return;
    }
    case GQ(_CONCAT): {
      int64_t off = 0, k;
      for (k = 0; k < n->n_in; ++k) {
        const int64_t len = numel(n->in[k]);
        for (i = 0; i < len; ++i) {
          int64_t q = requantize(vals[n->in[k]][i], n->in_shift[k], yo);
          y[off + i] = q;
        }
        off += len;
      }
      return;
    }
    case GQ(_ADD):
    case GQ(_MUL): {
      const int f0 = xi->frac, f1 = GQ(_values)[n->in[1]].frac, f = f0 > f1 ? f0 : f1;
      const int64_t* x1 = vals[n->in[1]];
      for (i = 0; i < numel(n->out); ++i) {
        const int64_t acc = n->op == GQ(_MUL) ? x[i] * x1[i]
                                              : x[i] * ((int64_t)1 << (f - f0)) + x1[i] * ((int64_t)1 << (f - f1));
        y[i] = stage(n, acc, 0, yo);
      }
      return;
    }
    default:
      for (i = 0; i < numel(n->out); ++i) y[i] = stage(n, x[i], 0, yo);
      return;
  }
}

int main(void) {
  int id, k;
  int64_t i, best = 0;
  const value_t* out = &GQ(_values)[GQ(_OUTPUT)];
  for (id = 0; id < GQ(_NUM_VALUES); ++id)
    if (GQ(_values)[id].used) vals[id] = calloc((size_t)numel(id), sizeof(int64_t));
  for (i = 0; i < numel(GQ(_INPUT)); ++i) {
    long long v;
    if (scanf("%lld", &v) != 1) {
      fprintf(stderr, "gq_run: expected %lld input codes\n", (long long)numel(GQ(_INPUT)));
      return 2;
    }
    vals[GQ(_INPUT)][i] = v;
  }
  for (k = 0; k < GQ(_NUM_NODES); ++k) run_node(&GQ(_nodes)[k]);
  for (i = 0; i < numel(GQ(_OUTPUT)); ++i) {
    printf("%lld%s", (long long)vals[GQ(_OUTPUT)][i], i + 1 < numel(GQ(_OUTPUT)) ? " " : "\n");
    if (vals[GQ(_OUTPUT)][i] > vals[GQ(_OUTPUT)][best]) best = i;
  }
  printf("class %lld (output format: %d bits, frac %d)\n", (long long)best, out->bits, out->frac);
  return 0;
}
