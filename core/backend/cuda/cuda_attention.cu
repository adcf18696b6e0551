/*
 * core/backend/cuda/cuda_attention.cu: causal grouped-query attention (forward and
 * backward) and the KV-cache write, fp32 (cpu_attention.c is the reference).
 *
 * Shapes (all row-major, heads interleaved): q, out, dout, dq [B,Tq,Hq,D]; k, v
 * [B,S,Hkv,D] (dk, dv [B,T,Hkv,D] in the training form S = Tq = T); lse [B,Hq,Tq]
 * (natural log); pos0 [B] I32 in device memory or NULL (0). Query i of row b sits at
 * position p = pos0[b] + i and attends keys j <= p; query head h reads kv head
 * h / G with G = Hq / Hkv.
 *
 * Design (flash-style; no [Tq, S] score matrix exists anywhere):
 *
 *  - Threads work in "lane groups" of LPG lanes (4, 8 or 16 consecutive lanes of a
 *    warp, by head dim). A group owns one query row (forward, dQ) or one key row
 *    (dK/dV); lane t of the group owns the dims 4 (t + LPG m) + c (c < 4), DPT = DMAX /
 *    LPG dims in all, so a D-long dot product is DPT fused multiply-adds per lane and
 *    log2(LPG) shuffles. The kernels are compiled for DMAX = 32, 64, 128 and 256; a
 *    head dim D <= DMAX is zero-padded in shared memory (D <= 256 is supported).
 *  - A block is 128 threads = RPB = 128 / LPG groups. Its rows are the GQA-packed
 *    rows r = i * G + g of one (b, kv head): the G query heads that share a kv head sit
 *    in one block and share every K/V tile it loads (in decoding, Tq = 1, a block holds
 *    all G heads of a kv head instead of one busy row out of RPB).
 *  - Key (forward, dQ) or query (dK/dV) tiles of TILE = min(32, 4096 / DMAX) rows are
 *    staged in shared memory (two tiles, 32 KiB at most, static), every lane group
 *    reading the same row at the same time (a broadcast). Single-buffered: the other
 *    resident blocks of an SM (3 or 4 by the launch bounds: registers, not shared
 *    memory, limit them) hide the load latency.
 *  - Forward: online softmax in fp32 per tile (running max m and sum l, the output
 *    accumulated in registers and rescaled by exp(m_old - m_new)); lse = m + log(l).
 *  - Decode / few blocks: when (tiles x B x Hkv) blocks do not fill ATT_SPLIT_WAVES
 *    blocks per SM, the key range is split over nsplit blocks (split-K, "flash
 *    decoding"); each writes an unnormalised partial (acc[D], m, l) to the workspace and
 *    k_att_combine merges them. Otherwise (training shapes) nsplit = 1 and the kernel
 *    writes out and lse itself.
 *  - Backward (FlashAttention-2 order, recomputing P from q, k and the saved lse):
 *      1. k_att_delta: delta[b,h,i] = sum_d dout * out (in double, as the CPU), into the
 *         workspace, laid out like lse.
 *      2. k_att_bwd_dkdv: one block per (b, kv head, RPB keys); each group keeps its
 *         key's k, v, dk, dv in registers and walks every query i >= its tile start of
 *         all G query heads of the kv head: p = exp(scale q.k - lse), dp = dout.v,
 *         ds = p (dp - delta); dv += p dout; dk += scale ds q. A block owns its dk, dv
 *         rows, GQA sum included, so they are written once with `=` (no zeroing, no
 *         atomics).
 *      3. k_att_bwd_dq: one block per (b, kv head, RPB GQA-packed query rows), like
 *         the forward: dq = scale sum_j ds_ij k_j over the causal keys.
 *    dQ strategy: a separate pass, not atomicAdd from the dK/dV pass. It recomputes
 *    q.k and dout.v once more (about 40% more arithmetic than the fused FA-2 pass), but
 *    it is deterministic (bit-identical runs; the rest of this backend avoids atomics
 *    for that reason, see cuda_colsum_acc), needs no zeroed fp32 dq accumulator and no
 *    read-modify-write traffic on dq.
 *  - pos0 lives in device memory: a row b with pos0[b] < 0 or pos0[b] + Tq > S is
 *    skipped (its outputs are not written) and recorded as a cuda_dev_error, reported by
 *    the next synchronising call with the CPU's message. With pos0 NULL the host checks
 *    Tq <= S itself, exactly as the CPU does.
 *
 * Workspace (bytes, 4 per float), non-decreasing in B, Tq and S (and Hq) so that a plan
 * sized for its largest shape also covers every smaller call of the same model (D and
 * Hkv are fixed by the model; it is not monotone in D, RPB halving as DMAX doubles):
 *   max( NR,                                            backward delta
 *        min(NR * ATT_NSPLIT_MAX, 2 * RPB * target) * (D + 2) )   forward partials
 * with NR = B * Tq * Hq and target = ATT_SPLIT_WAVES * (multiprocessors). The forward
 * uses nsplit * NR * (D + 2) floats of it, and nsplit * blocks < 2 * target by
 * construction; it falls back to nsplit = 1 if the workspace is ever short.
 *
 * Next steps (not done here): tensor-core tiles (mma.sync / wgmma on bf16 or tf32
 * operands with fp32 accumulation: this fp32 CUDA-core version is bound by FMA and
 * shared-memory bandwidth), several rows per lane group (register blocking), cp.async
 * double-buffered tiles, vectorised global loads when D % 4 == 0, bf16 K/V cache.
 */
#include <math.h>

#include "backend/cuda/cuda_internal.h"

#define ATT_THREADS        128
#define ATT_TILE_FLOATS    4096 /* floats of one shared-memory tile (16 KiB)              */
#define ATT_DMAX           256  /* the largest head dim the kernels are compiled for      */
#define ATT_NSPLIT_MAX     64   /* most key splits of the forward                         */
#define ATT_SPLIT_WAVES    4    /* split the forward's keys below this many blocks per SM */
#define ATT_AUX_THREADS    256  /* delta and combine: one warp per row                    */
#define ATT_MIN_BLOCKS     4    /* resident blocks per SM the register use must allow     */
#define ATT_FWD_MIN_BLOCKS 3    /* (forward: its score row needs more registers)          */

#define ATT_FULL_MASK 0xffffffffu

/* Compile-time shape of the kernels for head dims up to DMAX. */
template <int DMAX> struct att_cfg {
    static constexpr int LPG = DMAX <= 32 ? 4 : DMAX <= 128 ? 8 : 16; /* lanes per group  */
    static constexpr int DPT = DMAX / LPG;                            /* dims per lane    */
    static constexpr int NV4 = DPT / 4;                               /* float4 per lane  */
    static constexpr int RPB = ATT_THREADS / LPG;                     /* rows per block   */
    static constexpr int TILE =
        ATT_TILE_FLOATS / DMAX < 32 ? ATT_TILE_FLOATS / DMAX : 32; /* rows per tile    */
    static_assert(DPT % 4 == 0, "a lane owns whole float4 chunks");
    static_assert(32 % LPG == 0, "lane groups tile a warp");
    static_assert((TILE * DMAX) % ATT_THREADS == 0, "tile loads divide evenly");
};

/* Rows per block for a head dim (host side; must match att_cfg). */
static int att_rpb(int64_t D) {
    return D <= 32 ? ATT_THREADS / 4 : D <= 128 ? ATT_THREADS / 8 : ATT_THREADS / 16;
}

/* ---- device helpers ------------------------------------------------------------------- */

/* Sum over the LPG lanes of a group (every lane gets it). The whole warp must call. */
template <int LPG> static __device__ __forceinline__ float att_group_sum(float v) {
#pragma unroll
    for (int o = LPG / 2; o > 0; o >>= 1) v += __shfl_xor_sync(ATT_FULL_MASK, v, o);
    return v;
}

/* x[DPT] (this lane's dims) . row[DMAX] (a shared-memory row), this lane's part. */
template <int DMAX>
static __device__ __forceinline__ float att_dot_part(const float (&x)[att_cfg<DMAX>::DPT],
                                                     const float *row, int lane) {
    typedef att_cfg<DMAX> C;
    const float4 *r4 = reinterpret_cast<const float4 *>(row);
    float s = 0.0f;
#pragma unroll
    for (int m = 0; m < C::NV4; m++) {
        float4 t = r4[lane + C::LPG * m];
        s = fmaf(x[4 * m], t.x, s);
        s = fmaf(x[4 * m + 1], t.y, s);
        s = fmaf(x[4 * m + 2], t.z, s);
        s = fmaf(x[4 * m + 3], t.w, s);
    }
    return s;
}

/* y[DPT] += a * row[this lane's dims]. */
template <int DMAX>
static __device__ __forceinline__ void att_axpy(float (&y)[att_cfg<DMAX>::DPT], float a,
                                                const float *row, int lane) {
    typedef att_cfg<DMAX> C;
    const float4 *r4 = reinterpret_cast<const float4 *>(row);
#pragma unroll
    for (int m = 0; m < C::NV4; m++) {
        float4 t = r4[lane + C::LPG * m];
        y[4 * m] = fmaf(a, t.x, y[4 * m]);
        y[4 * m + 1] = fmaf(a, t.y, y[4 * m + 1]);
        y[4 * m + 2] = fmaf(a, t.z, y[4 * m + 2]);
        y[4 * m + 3] = fmaf(a, t.w, y[4 * m + 3]);
    }
}

/* This lane's dims of a global row of D floats into x (0 past D). */
template <int DMAX>
static __device__ __forceinline__ void
att_load_row(float (&x)[att_cfg<DMAX>::DPT], const float *__restrict__ src, int D, int lane) {
    typedef att_cfg<DMAX> C;
#pragma unroll
    for (int m = 0; m < C::NV4; m++)
#pragma unroll
        for (int c = 0; c < 4; c++) {
            int d = 4 * (lane + C::LPG * m) + c;
            x[4 * m + c] = d < D ? __ldg(src + d) : 0.0f;
        }
}

/* dst[d] = a * x[this lane's dim] for the dims d < D. */
template <int DMAX>
static __device__ __forceinline__ void att_store_row(float *__restrict__ dst,
                                                     const float (&x)[att_cfg<DMAX>::DPT], float a,
                                                     int D, int lane) {
    typedef att_cfg<DMAX> C;
#pragma unroll
    for (int m = 0; m < C::NV4; m++)
#pragma unroll
        for (int c = 0; c < 4; c++) {
            int d = 4 * (lane + C::LPG * m) + c;
            if (d < D) dst[d] = a * x[4 * m + c];
        }
}

/* Shared tile dst[TILE][DMAX] = rows r < n of src (row stride ld, D floats each); rows
 * r >= n and dims d >= D become 0 (so padded dims contribute exactly 0, never NaN). The
 * whole block calls; consecutive threads read consecutive floats of a row. */
template <int DMAX>
static __device__ __forceinline__ void att_load_tile(float *dst, const float *__restrict__ src,
                                                     int64_t ld, int n, int D) {
    typedef att_cfg<DMAX> C;
    /* 8 loads in flight per thread: more only costs registers (blocks per SM hide the
     * rest of the latency). */
#pragma unroll 8
    for (int it = 0; it < C::TILE * DMAX / ATT_THREADS; it++) {
        int idx = it * ATT_THREADS + (int)threadIdx.x;
        int r = idx / DMAX, d = idx % DMAX;
        dst[idx] = (r < n && d < D) ? __ldg(src + (int64_t)r * ld + d) : 0.0f;
    }
}

/* pos0[b] (0 when NULL) and whether the Tq positions from it fit the S keys. */
static __device__ __forceinline__ bool att_row_start(const int32_t *__restrict__ pos0, int64_t b,
                                                     int64_t Tq, int64_t S, int64_t *start) {
    *start = pos0 ? (int64_t)pos0[b] : 0;
    return *start >= 0 && *start + Tq <= S;
}

/* ---- forward ----------------------------------------------------------------------------- */

/*
 * k_att_fwd: q[B,Tq,Hq,D], k, v [B,S,Hkv,D] -> out[B,Tq,Hq,D] and lse[B,Hq,Tq] (NULL: not
 * written), or, with nsplit > 1, partials in `part`:
 *   acc  part[(z * NR + row) * D + d]            (unnormalised sum_j p_j v_j)
 *   m, l part[nsplit * NR * D + (z * NR + row) * 2 + {0, 1}]
 * for row = (b * Tq + i) * Hq + h, NR = B * Tq * Hq.
 * Grid (1-D): tiles x (B * Hkv) x nsplit blocks, the query tile index slowest and
 * reversed so that the longest causal tiles start first. Block: ATT_THREADS threads =
 * RPB lane groups, group gid owning the packed row r = t * RPB + gid (query i = r / G,
 * head h = kv * G + r % G). Split z covers keys [z * chunk, (z + 1) * chunk).
 */
template <int DMAX>
__global__ void __launch_bounds__(ATT_THREADS, ATT_FWD_MIN_BLOCKS)
    k_att_fwd(const float *__restrict__ q, const float *__restrict__ k, const float *__restrict__ v,
              const int32_t *__restrict__ pos0, float *__restrict__ out, float *__restrict__ lse,
              float *__restrict__ part, int64_t B, int64_t Tq, int64_t S, int64_t Hq, int64_t Hkv,
              int D, float scale, int64_t tiles, int nsplit, int64_t chunk, cuda_dev_error *err) {
    typedef att_cfg<DMAX> C;
    __shared__ __align__(16) float Ks[C::TILE * DMAX];
    __shared__ __align__(16) float Vs[C::TILE * DMAX];

    const int64_t per_t = B * Hkv * (int64_t)nsplit, x = blockIdx.x;
    const int64_t t = tiles - 1 - x / per_t, rest = x % per_t;
    const int64_t bk = rest / nsplit, z = rest % nsplit, b = bk / Hkv, kv = bk % Hkv;
    int64_t start;
    if (!att_row_start(pos0, b, Tq, S, &start)) {
        if (threadIdx.x == 0 && t == 0 && kv == 0 && z == 0)
            cuda_dev_flag(err, CUDA_DERR_POS_KEYS, CUDA_OP_ATTENTION_FWD, b, start, S, Tq);
        return; /* block-uniform: no barrier is skipped by only some threads */
    }
    const int64_t G = Hq / Hkv, R = Tq * G;
    const int gid = (int)threadIdx.x / C::LPG, lane = (int)threadIdx.x % C::LPG;
    const int64_t r = t * C::RPB + gid;
    const bool valid = r < R;
    const int64_t rc = valid ? r : R - 1; /* idle groups shadow the last row, unwritten */
    const int64_t i = rc / G, h = kv * G + rc % G, p = start + i;
    const int64_t r_last = min(t * C::RPB + C::RPB - 1, R - 1);
    const int64_t kmax = start + r_last / G + 1; /* keys any row of the block reads */
    const int64_t kb = z * chunk, ke = min(kb + chunk, kmax);
    const int64_t row = (b * Tq + i) * Hq + h;

    float qr[C::DPT], acc[C::DPT];
    att_load_row<DMAX>(qr, q + row * D, D, lane);
#pragma unroll
    for (int e = 0; e < C::DPT; e++) acc[e] = 0.0f;
    float m = -INFINITY, l = 0.0f;

    const int64_t ldk = Hkv * D;
    const float *kbase = k + (b * S * Hkv + kv) * D, *vbase = v + (b * S * Hkv + kv) * D;
    for (int64_t j0 = kb; j0 < ke; j0 += C::TILE) {
        const int nk = (int)min((int64_t)C::TILE, ke - j0);
        __syncthreads(); /* the previous tile is consumed */
        att_load_tile<DMAX>(Ks, kbase + j0 * ldk, ldk, nk, D);
        att_load_tile<DMAX>(Vs, vbase + j0 * ldk, ldk, nk, D);
        __syncthreads();
        /* Scores of this row against the tile; masked keys (after p, or past the
         * split's end) are -inf. */
        float s[C::TILE];
        float mt = -INFINITY;
#pragma unroll
        for (int j = 0; j < C::TILE; j++) {
            float d = att_group_sum<C::LPG>(att_dot_part<DMAX>(qr, Ks + j * DMAX, lane));
            s[j] = (j < nk && j0 + j <= p) ? d * scale : -INFINITY;
            mt = fmaxf(mt, s[j]);
        }
        /* Online softmax: m_new = max(m, tile max); rescale the old sum and output by
         * exp(m - m_new). mu guards a row with no key yet (m_new = -inf: every exp is
         * of -inf, hence 0, never -inf - -inf = NaN). */
        const float mn = fmaxf(m, mt), mu = mn == -INFINITY ? 0.0f : mn;
        const float corr = expf(m - mu);
        l *= corr;
#pragma unroll
        for (int e = 0; e < C::DPT; e++) acc[e] *= corr;
#pragma unroll
        for (int j = 0; j < C::TILE; j++) {
            float pj = expf(s[j] - mu);
            l += pj;
            att_axpy<DMAX>(acc, pj, Vs + j * DMAX, lane);
        }
        m = mn;
    }
    if (!valid) return; /* no barrier follows */
    if (nsplit == 1) {
        /* PyTorch and the CPU multiply by the reciprocal of the sum. */
        att_store_row<DMAX>(out + row * D, acc, 1.0f / l, D, lane);
        if (lse && lane == 0) lse[(b * Hq + h) * Tq + i] = (float)((double)m + log((double)l));
    } else {
        const int64_t NR = B * Tq * Hq, slot = z * NR + row;
        att_store_row<DMAX>(part + slot * D, acc, 1.0f, D, lane);
        if (lane == 0) {
            float *ml = part + (int64_t)nsplit * NR * D + slot * 2;
            ml[0] = m;
            ml[1] = l;
        }
    }
}

/*
 * k_att_combine: merges the nsplit partials of each row (layout: k_att_fwd) into
 * out[B,Tq,Hq,D] and lse[B,Hq,Tq] (NULL: not written). One warp per row (grid-stride),
 * lanes over D. With M = max_z m_z and w_z = exp(m_z - M): out = sum_z w_z acc_z / L,
 * L = sum_z w_z l_z, lse = M + log(L). Rows of a b with bad pos0 were never computed
 * (k_att_fwd flagged them) and are skipped.
 */
__global__ void __launch_bounds__(ATT_AUX_THREADS)
    k_att_combine(const float *__restrict__ part, const int32_t *__restrict__ pos0,
                  float *__restrict__ out, float *__restrict__ lse, int64_t B, int64_t Tq,
                  int64_t S, int64_t Hq, int D, int nsplit) {
    __shared__ float wsh[ATT_AUX_THREADS / 32][ATT_NSPLIT_MAX];
    const int lane = (int)threadIdx.x & 31, w = (int)threadIdx.x >> 5;
    const int64_t NR = B * Tq * Hq;
    const float *ml = part + (int64_t)nsplit * NR * D;
    const int64_t wstep = (int64_t)gridDim.x * (ATT_AUX_THREADS / 32);
    for (int64_t row = (int64_t)blockIdx.x * (ATT_AUX_THREADS / 32) + w; row < NR; row += wstep) {
        const int64_t b = row / (Tq * Hq), i = row / Hq % Tq, h = row % Hq;
        int64_t start;
        if (!att_row_start(pos0, b, Tq, S, &start)) continue; /* warp-uniform */
        float mz[ATT_NSPLIT_MAX / 32], lz[ATT_NSPLIT_MAX / 32], M = -INFINITY;
#pragma unroll
        for (int u = 0; u < ATT_NSPLIT_MAX / 32; u++) {
            int zz = lane + 32 * u;
            mz[u] = zz < nsplit ? ml[((int64_t)zz * NR + row) * 2] : -INFINITY;
            lz[u] = zz < nsplit ? ml[((int64_t)zz * NR + row) * 2 + 1] : 0.0f;
            M = fmaxf(M, mz[u]);
        }
        for (int o = 16; o > 0; o >>= 1) M = fmaxf(M, __shfl_xor_sync(ATT_FULL_MASK, M, o));
        float L = 0.0f;
#pragma unroll
        for (int u = 0; u < ATT_NSPLIT_MAX / 32; u++) {
            /* An empty split (no key of this row in it) has m = -inf, l = 0: weight 0. */
            float wz = mz[u] == -INFINITY ? 0.0f : expf(mz[u] - M);
            wsh[w][lane + 32 * u] = wz;
            L += wz * lz[u];
        }
        for (int o = 16; o > 0; o >>= 1) L += __shfl_xor_sync(ATT_FULL_MASK, L, o);
        __syncwarp();
        const float inv = 1.0f / L;
        for (int d = lane; d < D; d += 32) {
            float a = 0.0f;
            for (int zz = 0; zz < nsplit; zz++)
                a = fmaf(wsh[w][zz], part[((int64_t)zz * NR + row) * D + d], a);
            out[row * D + d] = a * inv;
        }
        if (lse && lane == 0) lse[(b * Hq + h) * Tq + i] = (float)((double)M + log((double)L));
        __syncwarp(); /* wsh is rewritten by the next row */
    }
}

/* ---- backward -------------------------------------------------------------------------- */

/*
 * k_att_delta: delta[b,h,i] (layout of lse: [B,Hq,T]) = sum_d dout[b,i,h,d] * out[b,i,h,d]
 * for dout, out [B,T,Hq,D], summed in double as the CPU does. One warp per row
 * (grid-stride over the NR = B*T*Hq rows of [.., D]).
 */
__global__ void __launch_bounds__(ATT_AUX_THREADS)
    k_att_delta(const float *__restrict__ dout, const float *__restrict__ out,
                float *__restrict__ delta, int64_t NR, int64_t T, int64_t Hq, int D) {
    const int lane = (int)threadIdx.x & 31, w = (int)threadIdx.x >> 5;
    const int64_t wstep = (int64_t)gridDim.x * (ATT_AUX_THREADS / 32);
    for (int64_t row = (int64_t)blockIdx.x * (ATT_AUX_THREADS / 32) + w; row < NR; row += wstep) {
        double a = 0.0;
        for (int d = lane; d < D; d += 32)
            a += (double)dout[row * D + d] * (double)out[row * D + d];
        for (int o = 16; o > 0; o >>= 1) a += __shfl_xor_sync(ATT_FULL_MASK, a, o);
        if (lane == 0) {
            const int64_t b = row / (T * Hq), i = row / Hq % T, h = row % Hq;
            delta[(b * Hq + h) * T + i] = (float)a;
        }
    }
}

/*
 * k_att_bwd_dkdv: dk, dv [B,T,Hkv,D] (=) from q, dout [B,T,Hq,D], k, v [B,T,Hkv,D],
 * lse, delta [B,Hq,T]. Grid (1-D): ktiles x (B * Hkv), the key tile slowest (tile 0, the
 * longest, first). Group gid owns key j = jt * RPB + gid; the block walks the query
 * tiles [i0, i0 + TILE) from i0 = jt * RPB (earlier queries see none of its keys) for
 * each of the G query heads of its kv head, staging q and dout rows in shared memory.
 */
template <int DMAX>
__global__ void __launch_bounds__(ATT_THREADS, ATT_MIN_BLOCKS)
    k_att_bwd_dkdv(const float *__restrict__ q, const float *__restrict__ k,
                   const float *__restrict__ v, const float *__restrict__ dout,
                   const float *__restrict__ lse, const float *__restrict__ delta,
                   float *__restrict__ dk, float *__restrict__ dv, int64_t B, int64_t T, int64_t Hq,
                   int64_t Hkv, int D, float scale) {
    typedef att_cfg<DMAX> C;
    __shared__ __align__(16) float Qs[C::TILE * DMAX];
    __shared__ __align__(16) float Gs[C::TILE * DMAX];
    __shared__ float Ls[C::TILE], Ds[C::TILE];

    const int64_t BH = B * Hkv, x = blockIdx.x;
    const int64_t jt = x / BH, bk = x % BH, b = bk / Hkv, kv = bk % Hkv;
    const int64_t G = Hq / Hkv;
    const int gid = (int)threadIdx.x / C::LPG, lane = (int)threadIdx.x % C::LPG;
    const int64_t j = jt * C::RPB + gid;
    const bool valid = j < T;
    const int64_t jc = valid ? j : T - 1;
    const int64_t krow = (b * T + jc) * Hkv + kv;

    float kr[C::DPT], vr[C::DPT], dkr[C::DPT], dvr[C::DPT];
    att_load_row<DMAX>(kr, k + krow * D, D, lane);
    att_load_row<DMAX>(vr, v + krow * D, D, lane);
#pragma unroll
    for (int e = 0; e < C::DPT; e++) dkr[e] = dvr[e] = 0.0f;

    const int64_t ldq = Hq * D;
    for (int64_t h = kv * G; h < (kv + 1) * G; h++) {
        const float *qb = q + (b * T * Hq + h) * D, *gb = dout + (b * T * Hq + h) * D;
        const float *lb = lse + (b * Hq + h) * T, *db = delta + (b * Hq + h) * T;
        for (int64_t i0 = jt * C::RPB; i0 < T; i0 += C::TILE) {
            const int ni = (int)min((int64_t)C::TILE, T - i0);
            __syncthreads();
            att_load_tile<DMAX>(Qs, qb + i0 * ldq, ldq, ni, D);
            att_load_tile<DMAX>(Gs, gb + i0 * ldq, ldq, ni, D);
            if ((int)threadIdx.x < C::TILE) {
                int ii = (int)threadIdx.x;
                Ls[ii] = ii < ni ? lb[i0 + ii] : 0.0f;
                Ds[ii] = ii < ni ? db[i0 + ii] : 0.0f;
            }
            __syncthreads();
#pragma unroll 1
            for (int ii = 0; ii < ni; ii++) { /* ni is block-uniform: shuffles are safe */
                const float *qi = Qs + ii * DMAX, *gi = Gs + ii * DMAX;
                float s = att_group_sum<C::LPG>(att_dot_part<DMAX>(kr, qi, lane));
                float dp = att_group_sum<C::LPG>(att_dot_part<DMAX>(vr, gi, lane));
                /* Recomputed exactly as the forward's score; keys after i are masked. */
                float pr = jc <= i0 + ii ? expf(s * scale - Ls[ii]) : 0.0f;
                float ds = pr * (dp - Ds[ii]);
                att_axpy<DMAX>(dvr, pr, gi, lane);
                att_axpy<DMAX>(dkr, ds, qi, lane);
            }
        }
    }
    if (!valid) return;
    const int64_t o = ((b * T + j) * Hkv + kv) * D;
    att_store_row<DMAX>(dk + o, dkr, scale, D, lane);
    att_store_row<DMAX>(dv + o, dvr, 1.0f, D, lane);
}

/*
 * k_att_bwd_dq: dq[B,T,Hq,D] (=) = scale sum_{j <= i} ds_ij k_j with ds_ij = p_ij (dout_i .
 * v_j - delta_i), p_ij = exp(scale q_i . k_j - lse_i). Inputs as k_att_bwd_dkdv. Grid
 * and rows as k_att_fwd with nsplit = 1 (GQA-packed rows, K/V tiles shared by the G
 * heads of a kv head).
 */
template <int DMAX>
__global__ void __launch_bounds__(ATT_THREADS, ATT_MIN_BLOCKS)
    k_att_bwd_dq(const float *__restrict__ q, const float *__restrict__ k,
                 const float *__restrict__ v, const float *__restrict__ dout,
                 const float *__restrict__ lse, const float *__restrict__ delta,
                 float *__restrict__ dq, int64_t B, int64_t T, int64_t Hq, int64_t Hkv, int D,
                 float scale, int64_t tiles) {
    typedef att_cfg<DMAX> C;
    __shared__ __align__(16) float Ks[C::TILE * DMAX];
    __shared__ __align__(16) float Vs[C::TILE * DMAX];

    const int64_t BH = B * Hkv, x = blockIdx.x;
    const int64_t t = tiles - 1 - x / BH, bk = x % BH, b = bk / Hkv, kv = bk % Hkv;
    const int64_t G = Hq / Hkv, R = T * G;
    const int gid = (int)threadIdx.x / C::LPG, lane = (int)threadIdx.x % C::LPG;
    const int64_t r = t * C::RPB + gid;
    const bool valid = r < R;
    const int64_t rc = valid ? r : R - 1;
    const int64_t i = rc / G, h = kv * G + rc % G;
    const int64_t kmax = min(t * C::RPB + C::RPB - 1, R - 1) / G + 1;
    const int64_t row = (b * T + i) * Hq + h;

    float qr[C::DPT], gr[C::DPT], dqr[C::DPT];
    att_load_row<DMAX>(qr, q + row * D, D, lane);
    att_load_row<DMAX>(gr, dout + row * D, D, lane);
#pragma unroll
    for (int e = 0; e < C::DPT; e++) dqr[e] = 0.0f;
    const float li = lse[(b * Hq + h) * T + i], di = delta[(b * Hq + h) * T + i];

    const int64_t ldk = Hkv * D;
    const float *kbase = k + (b * T * Hkv + kv) * D, *vbase = v + (b * T * Hkv + kv) * D;
    for (int64_t j0 = 0; j0 < kmax; j0 += C::TILE) {
        const int nk = (int)min((int64_t)C::TILE, kmax - j0);
        __syncthreads();
        att_load_tile<DMAX>(Ks, kbase + j0 * ldk, ldk, nk, D);
        att_load_tile<DMAX>(Vs, vbase + j0 * ldk, ldk, nk, D);
        __syncthreads();
#pragma unroll 1
        for (int jj = 0; jj < nk; jj++) { /* nk is block-uniform */
            const float *kj = Ks + jj * DMAX;
            float s = att_group_sum<C::LPG>(att_dot_part<DMAX>(qr, kj, lane));
            float dp = att_group_sum<C::LPG>(att_dot_part<DMAX>(gr, Vs + jj * DMAX, lane));
            float pr = j0 + jj <= i ? expf(s * scale - li) : 0.0f;
            att_axpy<DMAX>(dqr, pr * (dp - di), kj, lane);
        }
    }
    if (valid) att_store_row<DMAX>(dq + row * D, dqr, scale, D, lane);
}

/* ---- KV cache ------------------------------------------------------------------------------ */

/* k_kv_append: cache[b, pos0[b] + i, :] = x[b, i, :] for x[B,Tq,row] into cache[B,S,row]
 * (row = H * D floats). Grid-stride over the elements of x; a b whose positions do not
 * fit is skipped and flagged once (by its element 0). Unlike the CPU's memmove, x must
 * not partly overlap the rows it is written to (no caller does; exact aliasing, x being
 * those very rows, is harmless). */
__global__ void k_kv_append(float *__restrict__ cache, const float *__restrict__ x,
                            const int32_t *__restrict__ pos0, int64_t B, int64_t Tq, int64_t S,
                            int64_t row, cuda_dev_error *err) {
    const int64_t per_b = Tq * row, n = B * per_b;
    const int64_t step = (int64_t)gridDim.x * blockDim.x;
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < n; e += step) {
        const int64_t b = e / per_b, rem = e - b * per_b;
        int64_t start;
        if (!att_row_start(pos0, b, Tq, S, &start)) {
            if (rem == 0)
                cuda_dev_flag(err, CUDA_DERR_POS_CACHE, CUDA_OP_KV_APPEND, b, start, S, Tq);
            continue;
        }
        cache[(b * S + start) * row + rem] = x[e];
    }
}

/* ---- host side ------------------------------------------------------------------------------ */

/* a * b, saturating at INT64_MAX (operands >= 0). */
static int64_t att_mul_sat(int64_t a, int64_t b) {
    if (a == 0 || b == 0) return 0;
    return a > INT64_MAX / b ? INT64_MAX : a * b;
}

/* Blocks the forward aims for before it splits keys. */
static int64_t att_split_target(baldro_backend *be) {
    int n_sm = cuda_st(be)->n_sm;
    return (int64_t)ATT_SPLIT_WAVES * (n_sm > 0 ? n_sm : 1);
}

/* Floats of the forward's split partials (upper bound, see the top of the file). */
static int64_t att_fwd_part_floats(baldro_backend *be, int64_t NR, int64_t D) {
    int64_t cap = 2 * (int64_t)att_rpb(D) * att_split_target(be);
    int64_t rows = att_mul_sat(NR, ATT_NSPLIT_MAX);
    return att_mul_sat(rows < cap ? rows : cap, D + 2);
}

extern "C" size_t cuda_attention_workspace(baldro_backend *be, int64_t B, int64_t Tq, int64_t S,
                                           int64_t Hq, int64_t Hkv, int64_t D) {
    if (!be || B < 0 || Tq < 0 || S < 0 || Hq < 0 || Hkv < 0 || D < 0) return 0;
    const int64_t NR = att_mul_sat(att_mul_sat(B, Tq), Hq);
    const int64_t fwd = att_fwd_part_floats(be, NR, D), bwd = NR;
    const int64_t f = fwd > bwd ? fwd : bwd;
    if ((uint64_t)f > SIZE_MAX / sizeof(float)) return SIZE_MAX;
    return (size_t)f * sizeof(float);
}

/* The kernels' head-dim limit (the CPU has none). */
static int att_check_dmax(baldro_backend *be, const char *op, int64_t D) {
    if (D > ATT_DMAX)
        return bk_fail(be, BALDRO_EUNSUPPORTED,
                       "%s: head dim q.shape[3]=%lld is above %d, the CUDA kernels' limit", op,
                       (long long)D, ATT_DMAX);
    return BALDRO_OK;
}

/* A 1-D grid of n blocks, or a failure naming the op. */
static int att_grid(baldro_backend *be, const char *op, int64_t n, unsigned *grid) {
    if (n > 0x7fffffffLL)
        return bk_fail(be, BALDRO_EUNSUPPORTED, "%s: %lld thread blocks exceed the CUDA grid limit",
                       op, (long long)n);
    *grid = (unsigned)n;
    return BALDRO_OK;
}

/* Warp-per-row kernels: blocks for NR rows, capped (they grid-stride). */
static unsigned att_aux_grid(baldro_backend *be, int64_t NR) {
    return cuda_grid(NR, ATT_AUX_THREADS / 32, (unsigned)cuda_st(be)->n_sm * 32u);
}

template <int DMAX>
static int att_fwd_run(baldro_backend *be, float *out, float *lse, const float *q, const float *k,
                       const float *v, const int32_t *pos0, float *ws, size_t ws_bytes, int64_t B,
                       int64_t Tq, int64_t S, int64_t Hq, int64_t Hkv, int D, float scale) {
    typedef att_cfg<DMAX> C;
    const char *op = "attention_fwd";
    const int64_t G = Hq / Hkv, tiles = (Tq * G + C::RPB - 1) / C::RPB;
    const int64_t blocks0 = tiles * B * Hkv, NR = B * Tq * Hq;
    /* Key tiles of the longest row (the host cannot see pos0: S bounds it). */
    const int64_t nkt = S > 0 ? (S + C::TILE - 1) / C::TILE : 1;
    int64_t nsplit = 1, target = att_split_target(be);
    if (blocks0 < target) {
        nsplit = (target + blocks0 - 1) / blocks0;
        if (nsplit > ATT_NSPLIT_MAX) nsplit = ATT_NSPLIT_MAX;
        if (nsplit > nkt) nsplit = nkt;
    }
    int64_t chunk_t = (nkt + nsplit - 1) / nsplit; /* key tiles per split */
    nsplit = (nkt + chunk_t - 1) / chunk_t;        /* no split starts past S */
    /* Defensive: the workspace formula covers this; never split into a short one. */
    if (nsplit > 1 && (uint64_t)(nsplit * NR * (D + 2)) * sizeof(float) > ws_bytes) {
        nsplit = 1;
        chunk_t = nkt;
    }
    unsigned grid = 0;
    BK_TRY(att_grid(be, op, blocks0 * nsplit, &grid));
    cudaStream_t st = cuda_stream(be);
    k_att_fwd<DMAX><<<grid, ATT_THREADS, 0, st>>>(q, k, v, pos0, out, lse, nsplit > 1 ? ws : NULL,
                                                  B, Tq, S, Hq, Hkv, D, scale, tiles, (int)nsplit,
                                                  chunk_t * C::TILE, cuda_st(be)->d_err);
    CUDA_LAUNCHED(be, op);
    if (nsplit > 1) {
        k_att_combine<<<att_aux_grid(be, NR), ATT_AUX_THREADS, 0, st>>>(ws, pos0, out, lse, B, Tq,
                                                                        S, Hq, D, (int)nsplit);
        CUDA_LAUNCHED(be, op);
    }
    return BALDRO_OK;
}

extern "C" int cuda_attention_fwd(baldro_backend *be, baldro_tensor *out, baldro_tensor *lse,
                                  const baldro_tensor *q, const baldro_tensor *k,
                                  const baldro_tensor *v, const baldro_tensor *pos0, float scale,
                                  baldro_tensor *workspace) {
    const char *op = "attention_fwd";
    BK_TRY(bk_check_attention_fwd(be, out, lse, q, k, v, pos0, workspace));
    const int64_t B = q->shape[0], Tq = q->shape[1], Hq = q->shape[2], D = q->shape[3];
    const int64_t S = k->shape[1], Hkv = k->shape[2];
    /* pos0 NULL: every row starts at 0, so the CPU's check needs no device. */
    if (!pos0 && B > 0 && Tq > S)
        return bk_fail(be, BALDRO_EINVAL,
                       "%s: pos0[%lld]=%lld with q.shape[1]=%lld reaches past k.shape[1]=%lld", op,
                       0LL, 0LL, (long long)Tq, (long long)S);
    BK_TRY(bk_check_attention_fwd_overlap(be, out, q, k, v, workspace));
    BK_TRY(att_check_dmax(be, op, D));
    cuda_wrote_t(be, out);
    cuda_wrote_t(be, lse);
    cuda_wrote_t(be, workspace);
    if (B * Tq * Hq == 0) return BALDRO_OK; /* (D = 0 still writes lse, as the CPU) */

    float *o = (float *)out->data, *l = lse ? (float *)lse->data : NULL;
    float *ws = (float *)workspace->data;
    const float *qp = (const float *)q->data, *kp = (const float *)k->data;
    const float *vp = (const float *)v->data;
    const int32_t *p0 = pos0 ? (const int32_t *)pos0->data : NULL;
    size_t wsb = baldro_tensor_bytes(workspace);
    const int d = (int)D;
    if (D <= 32)
        return att_fwd_run<32>(be, o, l, qp, kp, vp, p0, ws, wsb, B, Tq, S, Hq, Hkv, d, scale);
    if (D <= 64)
        return att_fwd_run<64>(be, o, l, qp, kp, vp, p0, ws, wsb, B, Tq, S, Hq, Hkv, d, scale);
    if (D <= 128)
        return att_fwd_run<128>(be, o, l, qp, kp, vp, p0, ws, wsb, B, Tq, S, Hq, Hkv, d, scale);
    return att_fwd_run<256>(be, o, l, qp, kp, vp, p0, ws, wsb, B, Tq, S, Hq, Hkv, d, scale);
}

template <int DMAX>
static int att_bwd_run(baldro_backend *be, float *dq, float *dk, float *dv, const float *dout,
                       const float *q, const float *k, const float *v, const float *lse,
                       const float *delta, int64_t B, int64_t T, int64_t Hq, int64_t Hkv, int D,
                       float scale) {
    typedef att_cfg<DMAX> C;
    const char *op = "attention_bwd";
    cudaStream_t st = cuda_stream(be);
    unsigned grid = 0;
    const int64_t ktiles = (T + C::RPB - 1) / C::RPB;
    BK_TRY(att_grid(be, op, ktiles * B * Hkv, &grid));
    k_att_bwd_dkdv<DMAX>
        <<<grid, ATT_THREADS, 0, st>>>(q, k, v, dout, lse, delta, dk, dv, B, T, Hq, Hkv, D, scale);
    CUDA_LAUNCHED(be, op);
    const int64_t tiles = (T * (Hq / Hkv) + C::RPB - 1) / C::RPB;
    BK_TRY(att_grid(be, op, tiles * B * Hkv, &grid));
    k_att_bwd_dq<DMAX><<<grid, ATT_THREADS, 0, st>>>(q, k, v, dout, lse, delta, dq, B, T, Hq, Hkv,
                                                     D, scale, tiles);
    CUDA_LAUNCHED(be, op);
    return BALDRO_OK;
}

extern "C" int cuda_attention_bwd(baldro_backend *be, baldro_tensor *dq, baldro_tensor *dk,
                                  baldro_tensor *dv, const baldro_tensor *dout,
                                  const baldro_tensor *q, const baldro_tensor *k,
                                  const baldro_tensor *v, const baldro_tensor *out,
                                  const baldro_tensor *lse, float scale, baldro_tensor *workspace) {
    const char *op = "attention_bwd";
    BK_TRY(bk_check_attention_bwd(be, dq, dk, dv, dout, q, k, v, out, lse, workspace));
    const int64_t B = q->shape[0], T = q->shape[1], Hq = q->shape[2], D = q->shape[3];
    const int64_t Hkv = k->shape[2];
    BK_TRY(att_check_dmax(be, op, D));
    cuda_wrote_t(be, dq);
    cuda_wrote_t(be, dk);
    cuda_wrote_t(be, dv);
    cuda_wrote_t(be, workspace);
    if (B * T * D == 0) return BALDRO_OK; /* dq, dk and dv are empty */

    const int64_t NR = B * T * Hq;
    float *delta = (float *)workspace->data; /* [B,Hq,T] */
    cudaStream_t st = cuda_stream(be);
    k_att_delta<<<att_aux_grid(be, NR), ATT_AUX_THREADS, 0, st>>>(
        (const float *)dout->data, (const float *)out->data, delta, NR, T, Hq, (int)D);
    CUDA_LAUNCHED(be, op);

    float *dqp = (float *)dq->data, *dkp = (float *)dk->data, *dvp = (float *)dv->data;
    const float *gp = (const float *)dout->data, *qp = (const float *)q->data;
    const float *kp = (const float *)k->data, *vp = (const float *)v->data;
    const float *lp = (const float *)lse->data;
    const int d = (int)D;
    if (D <= 32)
        return att_bwd_run<32>(be, dqp, dkp, dvp, gp, qp, kp, vp, lp, delta, B, T, Hq, Hkv, d,
                               scale);
    if (D <= 64)
        return att_bwd_run<64>(be, dqp, dkp, dvp, gp, qp, kp, vp, lp, delta, B, T, Hq, Hkv, d,
                               scale);
    if (D <= 128)
        return att_bwd_run<128>(be, dqp, dkp, dvp, gp, qp, kp, vp, lp, delta, B, T, Hq, Hkv, d,
                                scale);
    return att_bwd_run<256>(be, dqp, dkp, dvp, gp, qp, kp, vp, lp, delta, B, T, Hq, Hkv, d, scale);
}

#define KV_THREADS 256

extern "C" int cuda_kv_append(baldro_backend *be, baldro_tensor *cache, const baldro_tensor *x,
                              const baldro_tensor *pos0) {
    const char *op = "kv_append";
    BK_TRY(bk_check_kv_append(be, cache, x, pos0));
    const int64_t B = x->shape[0], Tq = x->shape[1], S = cache->shape[1];
    const int64_t row = x->shape[2] * x->shape[3]; /* floats per position */
    /* pos0 NULL: positions 0..Tq-1 for every row, checked here as on the CPU; otherwise
     * the values are checked on the device (no host round trip). */
    if (!pos0 && B > 0 && Tq > S)
        return bk_fail(be, BALDRO_EINVAL,
                       "%s: positions %lld..%lld of row %lld do not fit cache.shape[1]=%lld", op,
                       0LL, (long long)(Tq - 1), 0LL, (long long)S);
    const int64_t n = B * Tq * row;
    if (n == 0) return BALDRO_OK;
    cuda_wrote_t(be, cache);
    unsigned grid = cuda_grid(n, KV_THREADS, (unsigned)cuda_st(be)->n_sm * 32u);
    k_kv_append<<<grid, KV_THREADS, 0, cuda_stream(be)>>>(
        (float *)cache->data, (const float *)x->data, pos0 ? (const int32_t *)pos0->data : NULL, B,
        Tq, S, row, cuda_st(be)->d_err);
    CUDA_LAUNCHED(be, op);
    return BALDRO_OK;
}
