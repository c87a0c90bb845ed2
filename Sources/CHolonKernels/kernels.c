#include "CHolonKernels.h"
#include <string.h>
#include <math.h>
#include <float.h>

// Each hot kernel is cloned for the CPUs we meet (Zen 4 / Sapphire Rapids, Haswell+, older x86,
// anything else) and dispatched once at load time.
#if defined(__x86_64__)
#define HOLON_CLONES __attribute__((target_clones("avx512vpopcntdq", "avx2", "popcnt", "default")))
#else
#define HOLON_CLONES
#endif

typedef uint64_t v8u __attribute__((vector_size(64)));

HOLON_CLONES
int64_t holon_popcount(const uint64_t *words, size_t n) {
    int64_t c = 0;
    for (size_t i = 0; i < n; i++) c += __builtin_popcountll(words[i]);
    return c;
}

HOLON_CLONES
void holon_dot_counts(const uint64_t *a, const uint64_t *b, size_t w, int64_t out[4]) {
    const uint64_t *as = a, *am = a + w, *bs = b, *bm = b + w;
    int64_t na = 0, nb = 0, both = 0, diff = 0;
    for (size_t i = 0; i < w; i++) {
        uint64_t m = am[i] & bm[i];
        na += __builtin_popcountll(am[i]);
        nb += __builtin_popcountll(bm[i]);
        both += __builtin_popcountll(m);
        diff += __builtin_popcountll((as[i] ^ bs[i]) & m);
    }
    out[0] = na; out[1] = nb; out[2] = both; out[3] = diff;
}

HOLON_CLONES
void holon_bind(const uint64_t *a, const uint64_t *b, uint64_t *out, size_t w) {
    // 512-bit blocks with every load before the stores, so `out` may be `a` or `b`. Written as
    // the plain word loop, the compiler checks the pointers for overlap at run time and, in
    // place (out == a, as formBind does), falls back to one word at a time: 4x slower.
    size_t i = 0;
    for (; i + 8 <= w; i += 8) {
        v8u as, am, bs, bm;
        memcpy(&as, a + i, 64);
        memcpy(&am, a + w + i, 64);
        memcpy(&bs, b + i, 64);
        memcpy(&bm, b + w + i, 64);
        v8u m = am & bm;
        v8u s = (as ^ bs) & m;
        memcpy(out + i, &s, 64);
        memcpy(out + w + i, &m, 64);
    }
    for (; i < w; i++) {
        uint64_t m = a[w + i] & b[w + i];
        uint64_t s = (a[i] ^ b[i]) & m;
        out[i] = s;
        out[w + i] = m;
    }
}

// Adds a 1-bit-per-lane input `x` into a bit-sliced counter of `planes` planes (ripple carry).
// Macros, not functions: 512-bit vector arguments would change the ABI between the clones.
#define CSA_ADD(counter, planes, x0) do { \
        v8u carry_ = (x0); \
        for (int p_ = 0; p_ < (planes); p_++) { \
            v8u t_ = (counter)[p_] & carry_; \
            (counter)[p_] ^= carry_; \
            carry_ = t_; \
        } \
    } while (0)

#define STORE8(ptr, src, avail) do { \
        if ((avail) >= 8) memcpy((ptr), &(src), 64); \
        else { for (size_t j_ = 0; j_ < (avail); j_++) (ptr)[j_] = (src)[j_]; } \
    } while (0)

#define LOAD8(dst, ptr, avail) do { \
        if ((avail) >= 8) memcpy(&(dst), (ptr), 64); \
        else { (dst) = (v8u){0}; for (size_t j_ = 0; j_ < (avail); j_++) (dst)[j_] = (ptr)[j_]; } \
    } while (0)

// Dense block: count the -1s two inputs at a time (a full adder into plane 0, then the carry
// rippled up), compare with k/2. `valid` is the first input's mask: the lanes inside the dimension.
#define DENSE_BLOCK(PL) do { \
        const int planes_ = (PL); \
        v8u neg[PL]; \
        for (int p = 0; p < planes_; p++) neg[p] = (v8u){0}; \
        size_t i = 0; \
        for (; i + 1 < k; i += 2) { \
            v8u a, b; \
            LOAD8(a, vectors[i] + base, avail); \
            LOAD8(b, vectors[i + 1] + base, avail); \
            v8u u = neg[0] ^ a; \
            v8u carry = (neg[0] & a) | (u & b); \
            neg[0] = u ^ b; \
            for (int p = 1; p < planes_; p++) { v8u t = neg[p] & carry; neg[p] ^= carry; carry = t; } \
        } \
        if (i < k) { v8u a; LOAD8(a, vectors[i] + base, avail); CSA_ADD(neg, planes_, a); } \
        v8u valid; \
        LOAD8(valid, vectors[0] + w + base, avail); \
        size_t half = k / 2; \
        v8u gt = {0}, eq = ~(v8u){0}; \
        for (int p = planes_ - 1; p >= 0; p--) { \
            if ((half >> p) & 1) eq &= neg[p]; \
            else { gt |= eq & neg[p]; eq &= ~neg[p]; } \
        } \
        v8u mask = valid & ((k & 1) ? ~(v8u){0} : ~eq); \
        v8u sign = gt & mask; \
        STORE8(out + base, sign, avail); \
        STORE8(out + w + base, mask, avail); \
    } while (0)

// One 512-bit block of a bundle with a compile-time plane count, so the counters live in
// registers. `dense` blocks (every input ±1 there) count only the -1s and compare with k/2.
#define BUNDLE_BLOCK(PL) do { \
        const int planes_ = (PL); \
        v8u allm = ~(v8u){0}; \
        for (size_t i = 0; i < k; i++) { v8u m; LOAD8(m, vectors[i] + w + base, avail); allm &= m; } \
        int dense = avail == 8; \
        for (int j = 0; j < 8; j++) dense &= allm[j] == ~(uint64_t)0; \
        if (dense) { \
            DENSE_BLOCK(PL); \
        } else { \
            v8u pos[PL], neg[PL]; \
            for (int p = 0; p < planes_; p++) { pos[p] = (v8u){0}; neg[p] = (v8u){0}; } \
            for (size_t i = 0; i < k; i++) { \
                v8u s, m; \
                LOAD8(s, vectors[i] + base, avail); \
                LOAD8(m, vectors[i] + w + base, avail); \
                CSA_ADD(pos, planes_, m & ~s); \
                CSA_ADD(neg, planes_, s); \
            } \
            v8u gt = {0}, lt = {0}, eq = ~(v8u){0}; \
            for (int p = planes_ - 1; p >= 0; p--) { \
                gt |= eq & pos[p] & ~neg[p]; \
                lt |= eq & neg[p] & ~pos[p]; \
                eq &= ~(pos[p] ^ neg[p]); \
            } \
            v8u mask = gt | lt; \
            for (size_t j = 0; j < avail; j++) { out[base + j] = lt[j]; out[w + base + j] = mask[j]; } \
        } \
    } while (0)

HOLON_CLONES
void holon_bundle_dense(const uint64_t *const *vectors, size_t k, size_t w, uint64_t *out) {
    int planes = 1;
    while (planes < 24 && ((size_t)1 << planes) <= k) planes++;
    for (size_t base = 0; base < w; base += 8) {
        size_t avail = w - base < 8 ? w - base : 8;
        switch (planes) {
        case 1: DENSE_BLOCK(1); break;
        case 2: DENSE_BLOCK(2); break;
        case 3: DENSE_BLOCK(3); break;
        case 4: DENSE_BLOCK(4); break;
        case 5: DENSE_BLOCK(5); break;
        default: DENSE_BLOCK(24); break;
        }
    }
}

HOLON_CLONES
void holon_bundle(const uint64_t *const *vectors, size_t k, size_t w, uint64_t *out) {
    int planes = 1;
    while (planes < 24 && ((size_t)1 << planes) <= k) planes++;
    for (size_t base = 0; base < w; base += 8) {
        size_t avail = w - base < 8 ? w - base : 8;
        switch (planes) {
        case 1: BUNDLE_BLOCK(1); break;
        case 2: BUNDLE_BLOCK(2); break;
        case 3: BUNDLE_BLOCK(3); break;
        case 4: BUNDLE_BLOCK(4); break;
        case 5: BUNDLE_BLOCK(5); break;
        case 6: BUNDLE_BLOCK(6); break;
        default: BUNDLE_BLOCK(24); break;
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

static int cpu_has_avx512(void) {
    static int cached = -1;
    if (cached < 0) cached = __builtin_cpu_supports("avx512f") ? 1 : 0;
    return cached;
}

// Masked adds straight from the bit planes: 16 lanes per instruction, no bit unpacking.
__attribute__((target("avx512f")))
static void acc_add_avx512(float *sums, const uint64_t *s, const uint64_t *m, size_t full, float weight) {
    __m512 wv = _mm512_set1_ps(weight);
    for (size_t i = 0; i < full; i++) {
        uint64_t pos = m[i] & ~s[i], neg = m[i] & s[i];
        for (int c = 0; c < 4; c++) {
            float *x = sums + i * 64 + c * 16;
            __m512 v = _mm512_loadu_ps(x);
            v = _mm512_mask_add_ps(v, (__mmask16)(pos >> (16 * c)), v, wv);
            v = _mm512_mask_sub_ps(v, (__mmask16)(neg >> (16 * c)), v, wv);
            _mm512_storeu_ps(x, v);
        }
    }
}

__attribute__((target("avx512f")))
static double acc_dot_avx512(const float *sums, const uint64_t *s, const uint64_t *m, size_t full) {
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    double total = 0;
    for (size_t i = 0; i < full; i++) {
        uint64_t pos = m[i] & ~s[i], neg = m[i] & s[i];
        for (int c = 0; c < 4; c++) {
            __m512 x = _mm512_loadu_ps(sums + i * 64 + c * 16);
            acc[c] = _mm512_mask_add_ps(acc[c], (__mmask16)(pos >> (16 * c)), acc[c], x);
            acc[c] = _mm512_mask_sub_ps(acc[c], (__mmask16)(neg >> (16 * c)), acc[c], x);
        }
        if ((i & 15) == 15) {  // fold into double every 1024 lanes to bound float rounding
            for (int c = 0; c < 4; c++) { total += _mm512_reduce_add_ps(acc[c]); acc[c] = _mm512_setzero_ps(); }
        }
    }
    for (int c = 0; c < 4; c++) total += _mm512_reduce_add_ps(acc[c]);
    return total;
}

__attribute__((target("avx512f")))
static void counter_flush_avx512(const uint64_t *counter, size_t w, size_t full, float *sums, float weight, float *also, float also_weight) {
    const int P = HOLON_COUNTER_PLANES;
    const __m512 ws = _mm512_set1_ps(weight), wa = _mm512_set1_ps(also_weight);
    for (size_t i = 0; i < full; i++) {
        for (int c = 0; c < 4; c++) {
            // The lanes' signed counts, built once and added to each target times its weight.
            __m512 d = _mm512_setzero_ps();
            for (int p = 0; p < P; p++) {
                __m512 step = _mm512_set1_ps((float)(1 << p));
                d = _mm512_mask_add_ps(d, (__mmask16)(counter[p * w + i] >> (16 * c)), d, step);
                d = _mm512_mask_sub_ps(d, (__mmask16)(counter[(P + p) * w + i] >> (16 * c)), d, step);
            }
            float *x = sums + i * 64 + c * 16;
            _mm512_storeu_ps(x, _mm512_add_ps(_mm512_loadu_ps(x), _mm512_mul_ps(d, ws)));
            if (also) {
                float *y = also + i * 64 + c * 16;
                _mm512_storeu_ps(y, _mm512_add_ps(_mm512_loadu_ps(y), _mm512_mul_ps(d, wa)));
            }
        }
    }
}
#endif

HOLON_CLONES
void holon_counter_add(uint64_t *counter, const uint64_t *v, size_t w) {
    const int P = HOLON_COUNTER_PLANES;
    uint64_t *pos = counter, *neg = counter + P * w;
    for (size_t base = 0; base < w; base += 8) {
        size_t avail = w - base < 8 ? w - base : 8;
        v8u s, m;
        LOAD8(s, v + base, avail);
        LOAD8(m, v + w + base, avail);
        v8u cp = m & ~s, cn = s;
        for (int p = 0; p < P; p++) {
            v8u xp, xn;
            LOAD8(xp, pos + p * w + base, avail);
            LOAD8(xn, neg + p * w + base, avail);
            v8u tp = xp & cp, tn = xn & cn;
            xp ^= cp;
            xn ^= cn;
            cp = tp;
            cn = tn;
            STORE8(pos + p * w + base, xp, avail);
            STORE8(neg + p * w + base, xn, avail);
        }
    }
}

void holon_counter_flush(uint64_t *counter, size_t w, size_t dim, float *sums, float weight) {
    holon_counter_flush2(counter, w, dim, sums, weight, NULL, 0);
}

void holon_counter_flush2(uint64_t *counter, size_t w, size_t dim, float *sums, float weight, float *also, float also_weight) {
    const int P = HOLON_COUNTER_PLANES;
    size_t first = 0;
#if defined(__x86_64__)
    if (cpu_has_avx512()) {
        first = dim / 64;
        counter_flush_avx512(counter, w, first, sums, weight, also, also_weight);
    }
#endif
    for (size_t i = first; i < w; i++) {
        size_t lanes = dim - i * 64 < 64 ? dim - i * 64 : 64;
        for (size_t j = 0; j < lanes; j++) {
            int count = 0;
            for (int p = 0; p < P; p++) {
                count += (int)((counter[p * w + i] >> j) & 1) << p;
                count -= (int)((counter[(P + p) * w + i] >> j) & 1) << p;
            }
            sums[i * 64 + j] += weight * (float)count;
            if (also) also[i * 64 + j] += also_weight * (float)count;
        }
    }
    memset(counter, 0, 2 * P * w * sizeof(uint64_t));
}

HOLON_CLONES
static void acc_add_generic(float *sums, const uint64_t *v, size_t w, size_t first, size_t dim, float weight);
HOLON_CLONES
static double acc_dot_generic(const float *sums, const uint64_t *v, size_t w, size_t first, size_t dim);

void holon_acc_add(float *sums, const uint64_t *v, size_t w, size_t dim, float weight) {
    size_t first = 0;
#if defined(__x86_64__)
    if (cpu_has_avx512()) {
        first = dim / 64;
        acc_add_avx512(sums, v, v + w, first, weight);
    }
#endif
    acc_add_generic(sums, v, w, first, dim, weight);
}

double holon_acc_dot(const float *sums, const uint64_t *v, size_t w, size_t dim) {
    size_t first = 0;
    double total = 0;
#if defined(__x86_64__)
    if (cpu_has_avx512()) {
        first = dim / 64;
        total = acc_dot_avx512(sums, v, v + w, first);
    }
#endif
    return total + acc_dot_generic(sums, v, w, first, dim);
}

HOLON_CLONES
static void acc_add_generic(float *sums, const uint64_t *v, size_t w, size_t first, size_t dim, float weight) {
    const uint64_t *s = v, *m = v + w;
    for (size_t i = first; i < w; i++) {
        uint64_t sw = s[i], mw = m[i];
        if (mw == 0) continue;
        size_t lanes = dim - i * 64 < 64 ? dim - i * 64 : 64;
        float *out = sums + i * 64;
        for (size_t j = 0; j < lanes; j++) {
            float mag = (float)((mw >> j) & 1) * weight;
            float sgn = 1.0f - 2.0f * (float)((sw >> j) & 1);
            out[j] += mag * sgn;
        }
    }
}

HOLON_CLONES
static double acc_dot_generic(const float *sums, const uint64_t *v, size_t w, size_t first, size_t dim) {
    const uint64_t *s = v, *m = v + w;
    double total = 0;
    for (size_t i = first; i < w; i++) {
        uint64_t sw = s[i], mw = m[i];
        size_t lanes = dim - i * 64 < 64 ? dim - i * 64 : 64;
        const float *x = sums + i * 64;
        float acc = 0;
        for (size_t j = 0; j < lanes; j++) {
            float mag = (float)((mw >> j) & 1);
            float sgn = 1.0f - 2.0f * (float)((sw >> j) & 1);
            acc += x[j] * mag * sgn;
        }
        total += acc;
    }
    return total;
}

typedef float v16f __attribute__((vector_size(64)));

/// Sums of 16 independent lanes: a single float sum is one long dependency chain that the
/// compiler may not reorder (no -ffast-math), 4096 lanes at one add per 4 cycles; sixteen
/// chains vectorise. Every 256 floats the lanes fold into a double, bounding float rounding.
#define LOAD16F(dst, ptr) memcpy(&(dst), (ptr), sizeof(v16f))
static inline double fold16f(const v16f *v) { double t = 0; for (int i = 0; i < 16; i++) t += (*v)[i]; return t; }

HOLON_CLONES
double holon_f32_dot(const float *x, const float *y, size_t n) {
    double total = 0;
    size_t j = 0;
    while (j + 16 <= n) {
        size_t end = j + 256 <= n ? j + 256 : n - (n - j) % 16;
        v16f acc = {0};
        for (; j < end; j += 16) { v16f u, v; LOAD16F(u, x + j); LOAD16F(v, y + j); acc += u * v; }
        total += fold16f(&acc);
    }
    for (; j < n; j++) total += (double)(x[j] * y[j]);
    return total;
}

HOLON_CLONES
void holon_f32_dot_norm(const float *x, const float *y, size_t n, double *xy, double *xx) {
    double txy = 0, txx = 0;
    size_t j = 0;
    while (j + 16 <= n) {
        size_t end = j + 256 <= n ? j + 256 : n - (n - j) % 16;
        v16f a = {0}, b = {0};
        for (; j < end; j += 16) {
            v16f u, v;
            LOAD16F(u, x + j);
            LOAD16F(v, y + j);
            a += u * v;
            b += u * u;
        }
        txy += fold16f(&a);
        txx += fold16f(&b);
    }
    for (; j < n; j++) { txy += (double)(x[j] * y[j]); txx += (double)(x[j] * x[j]); }
    *xy = txy;
    *xx = txx;
}

HOLON_CLONES
void holon_f32_scale(float *x, size_t n, float factor) {
    for (size_t j = 0; j < n; j++) {
        float y = x[j] * factor;
        x[j] = fabsf(y) < FLT_MIN ? 0.0f : y;
    }
}

HOLON_CLONES
float holon_f32_max_abs(const float *x, size_t n) {
    float m = 0;
    for (size_t j = 0; j < n; j++) {
        float a = fabsf(x[j]);
        m = a > m ? a : m;
    }
    return m;
}

HOLON_CLONES
void holon_f32_axpy(float *x, const float *y, size_t n, float factor) {
    for (size_t j = 0; j < n; j++) x[j] += factor * y[j];
}

HOLON_CLONES
void holon_threshold(const float *sums, size_t dim, float t, uint64_t *out, size_t w) {
    memset(out, 0, 2 * w * sizeof(uint64_t));
    for (size_t i = 0; i < w; i++) {
        size_t lanes = dim - i * 64 < 64 ? dim - i * 64 : 64;
        uint64_t sw = 0, mw = 0;
        const float *x = sums + i * 64;
        for (size_t j = 0; j < lanes; j++) {
            sw |= (uint64_t)(x[j] < -t) << j;
            mw |= (uint64_t)(x[j] > t || x[j] < -t) << j;
        }
        out[i] = sw;
        out[w + i] = mw;
    }
}

void holon_rotate_plane(const uint64_t *in, uint64_t *out, size_t dim, size_t shift) {
    size_t w = (dim + 63) / 64;
    memset(out, 0, w * sizeof(uint64_t));
    if (dim % 64 == 0) {
        size_t q = shift / 64, r = shift % 64;
        size_t dst = q;
        for (size_t i = 0; i < w; i++) {
            uint64_t lo = in[i] << r;
            uint64_t hi = r ? in[i == 0 ? w - 1 : i - 1] >> (64 - r) : 0;
            out[dst] = lo | hi;
            if (++dst == w) dst = 0;
        }
        return;
    }
    // Dimensions that are not a multiple of 64 move bit by bit: rare, and never on a hot path.
    for (size_t i = 0; i < dim; i++) {
        if ((in[i / 64] >> (i % 64)) & 1) {
            size_t j = (i + shift) % dim;
            out[j / 64] |= (uint64_t)1 << (j % 64);
        }
    }
}

size_t holon_prefix_argmax(const float *c, size_t n, double base, double *best) {
    double value = base, bestValue = base, prefix = 0;
    size_t bestIndex = 0;
    for (size_t j = 0; j < n; j++) {
        prefix += c[j];
        value = base - 2.0 * prefix;
        if (value > bestValue) { bestValue = value; bestIndex = j + 1; }
    }
    if (best) *best = bestValue;
    return bestIndex;
}
