/* Estimates from a sampled trace (FORMAT.md "Sampling"): each sampled event
 * carries a weight, the bytes (byte sampling) or allocations (rate sampling)
 * it stands for. Summing weights gives unbiased (Horvitz-Thompson) estimates
 * of bytes and counts; the variance sums below give their 95% intervals.
 *
 * Byte sampling with mean S: a block of n bytes is sampled with probability
 * p = 1 - exp(-n/S) and its weight is w = n / p, so p = n / w, and it adds
 *   bytes:  value w,     variance w * (w - n)          (= n^2 (1-p)/p^2)
 *   count:  value w / n, variance (w/n) * (w/n - 1)    (= (1-p)/p^2)
 * Rate sampling with rate r: weight w = 1 / r allocations, and it adds
 *   count:  value w,     variance w * (w - 1)
 *   bytes:  value w * n, variance n^2 * w * (w - 1)
 * An exact event (weight 0) adds its value with no variance. */
#ifndef MSX_ESTIMATE_H
#define MSX_ESTIMATE_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

/* A running estimate: value and variance. */
typedef struct msx_est {
    double value, var;
} msx_est;

/* How the trace was sampled. */
typedef enum msx_sampling {
    MSX_EXACT = 0,           /* not sampled: weights are 0 */
    MSX_SAMPLED_BYTES,       /* weights are bytes (header sample_bytes > 0) */
    MSX_SAMPLED_RATE,        /* weights are allocations (header sample_rate > 0) */
} msx_sampling;

/* Adds (sign +1) or removes (sign -1, a block that died: live-byte
 * estimates) one event of n bytes with weight w to a bytes and a count
 * estimate (either may be NULL). */
static inline void msx_est_add(msx_est *bytes, msx_est *count, msx_sampling how, uint64_t n, uint64_t w,
                               double sign)
{
    double dn = (double)n, dw = (double)w, vb = 0, vc = 0, eb = dn, ec = 1;
    if (w > 0 && how == MSX_SAMPLED_BYTES && n > 0) {
        eb = dw;
        vb = dw * (dw - dn);
        ec = dw / dn;
        vc = ec * (ec - 1);
    } else if (w > 0 && how == MSX_SAMPLED_RATE) {
        ec = dw;
        vc = dw * (dw - 1);
        eb = dw * dn;
        vb = dn * dn * vc;
    }
    if (vb < 0)
        vb = 0;
    if (vc < 0)
        vc = 0;
    if (bytes) {
        bytes->value += sign * eb;
        bytes->var += sign * vb;
    }
    if (count) {
        count->value += sign * ec;
        count->var += sign * vc;
    }
}

/* The 95% interval of an estimate, clipped at 0. */
static inline void msx_est_ci95(const msx_est *e, double *lo, double *hi)
{
    double v = e->var > 0 ? e->var : 0, h = 1.959963984540054 * sqrt(v);
    *lo = e->value - h > 0 ? e->value - h : 0;
    *hi = e->value + h;
}

#endif /* MSX_ESTIMATE_H */
