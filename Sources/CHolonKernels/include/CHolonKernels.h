// Bit-plane kernels for Holon hypervectors.
//
// A ternary hypervector of W words is stored as two planes of W uint64_t each, contiguous:
// `sign` (bit set = -1) then `mask` (bit set = non-zero). Invariant kept by every kernel:
// sign & ~mask == 0, and bits past the dimension are zero in both planes.
// Each kernel is compiled for several CPUs and picked at load time (ifunc).
#ifndef CHOLON_KERNELS_H
#define CHOLON_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Population count of `n` words.
int64_t holon_popcount(const uint64_t *words, size_t n);

/// The four counts cosine and dot need, in one pass over both vectors:
/// out[0] = nnz(a), out[1] = nnz(b), out[2] = |support(a) ∩ support(b)|,
/// out[3] = positions in the common support where the signs differ.
void holon_dot_counts(const uint64_t *a, const uint64_t *b, size_t w, int64_t out[4]);

/// out = a ⊙ b (elementwise product of ternary vectors). `out` may alias `a` or `b`.
void holon_bind(const uint64_t *a, const uint64_t *b, uint64_t *out, size_t w);

/// holon_bundle for inputs the caller knows are all dense (every lane ±1 within the dimension):
/// counts only the -1s, with full adders taking two inputs at a time. k < 2^24.
void holon_bundle_dense(const uint64_t *const *vectors, size_t k, size_t w, uint64_t *out);

/// out = sign(Σ vectors[i]) elementwise, 0 where the sum is 0. k < 2^24.
/// Bit-sliced: per 512-bit block, vertical counters of the +1s and the -1s.
void holon_bundle(const uint64_t *const *vectors, size_t k, size_t w, uint64_t *out);

/// sums[j] += weight * v[j] for j < dim.
void holon_acc_add(float *sums, const uint64_t *v, size_t w, size_t dim, float weight);

/// Bit-sliced lane counters: `HOLON_COUNTER_PLANES` planes of +1 counts then as many of -1
/// counts, each plane `w` words. Adding a vector costs a few word operations per plane; up to
/// 2^planes - 1 vectors fit before the counter must be flushed.
#define HOLON_COUNTER_PLANES 5

/// counter += v (lanes of +1 into the positive counter, -1 into the negative).
void holon_counter_add(uint64_t *counter, const uint64_t *v, size_t w);

/// sums[j] += weight * (positive[j] - negative[j]); clears the counter.
void holon_counter_flush(uint64_t *counter, size_t w, size_t dim, float *sums, float weight);

/// Like `holon_counter_flush`, adding the same counts times `also_weight` to `also` too when it
/// is not NULL: one pass over the counter for two accumulators fed the same vectors (each with
/// its own lane scale, so its own weight).
void holon_counter_flush2(uint64_t *counter, size_t w, size_t dim, float *sums, float weight, float *also, float also_weight);

/// Σ sums[j] * v[j].
double holon_acc_dot(const float *sums, const uint64_t *v, size_t w, size_t dim);

/// Σ x[j] * y[j] and Σ x[j]^2 over float vectors (float accumulators in 8 lanes, summed in double).
double holon_f32_dot(const float *x, const float *y, size_t n);

/// One pass for a cosine: *xy = Σ x[j] y[j], *xx = Σ x[j]^2.
void holon_f32_dot_norm(const float *x, const float *y, size_t n, double *xy, double *xx);

/// x[j] *= factor; a product below FLT_MIN in magnitude becomes 0 (no subnormal lanes).
void holon_f32_scale(float *x, size_t n, float factor);

/// max |x[j]| (0 for n = 0).
float holon_f32_max_abs(const float *x, size_t n);

/// x[j] += factor * y[j].
void holon_f32_axpy(float *x, const float *y, size_t n, float factor);

/// Ternary threshold of float sums: +1 where s > t, -1 where s < -t, else 0. t >= 0.
void holon_threshold(const float *sums, size_t dim, float t, uint64_t *out, size_t w);

/// Cyclic rotation by `shift` positions (0 <= shift < dim) of one plane of `dim` bits:
/// bit i of `in` moves to bit (i + shift) mod dim of `out`. `out` must not alias `in`.
void holon_rotate_plane(const uint64_t *in, uint64_t *out, size_t dim, size_t shift);

/// Prefix-sum argmax used by scalar decoding: returns the index s in [0, n] maximising
/// base - 2 * Σ_{j<s} c[j]; ties go to the smallest s.
size_t holon_prefix_argmax(const float *c, size_t n, double base, double *best);

#ifdef __cplusplus
}
#endif

#endif
