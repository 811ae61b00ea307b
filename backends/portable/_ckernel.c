/* The portable stream's element-wise generator for the two real kinds ("uniform", "normal"), in C.
 *
 * The same algorithm, operation for operation, as the framework-free definition in Python
 * (backends/portable/_philox.py: Philox-4x32-10; backends/portable/_float32.py: u01, v_open,
 * log_pos, ndtri; backends/portable/_spec.py: _uniform_t, _normal_t): IEEE-754 binary32
 * + - * / and sqrt, comparisons and selects, frexp, every product rounded before its sum
 * (compiled with -ffp-contract=off: no FMA), so it reproduces the NumPy reference bit for bit.
 * Every float constant comes from Python (the `constants` argument, built by
 * initspec.backends.portable._cfill from _float32.py): none is written here.
 *
 * One function, fill(kind, keys, draw, start, n, params, constants, out): out[i] = value of element
 * start + i of draw `draw` of the stream whose per-round keys are `keys` (10 x (k0, k1) uint32),
 * for i < n; start a multiple of 4. The GIL is released while it runs.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define ROUNDS 10
/* elements per batch (a multiple of 4): words and intermediates of one batch stay in L1 */
#define BATCH 512
#define BLOCKS (BATCH / 4)

/* indices into `constants` (the order of _cfill.CONSTANTS) */
enum {
    C_TWO_M24, C_FLT_MIN, C_ONE_MINUS_ULP, C_SQRT_HALF, C_LN2_HI, C_LN2_LO,
    C_LG1, C_LG2, C_LG3, C_LG4, C_SPLIT1, C_SPLIT2, C_CONST1, C_CONST2,
    C_NUM_C0, C_NUM_C1, C_NUM_C2, C_NUM_C3, C_DEN_C0, C_DEN_C1, C_DEN_C2,
    C_NUM_M0, C_NUM_M1, C_NUM_M2, C_NUM_M3, C_DEN_M0, C_DEN_M1, C_DEN_M2,
    C_NUM_F0, C_NUM_F1, C_NUM_F2, C_NUM_F3, C_DEN_F0, C_DEN_F1, C_DEN_F2,
    N_CONSTANTS
};

enum { KIND_UNIFORM = 0, KIND_NORMAL = 1 };
enum { U_SPAN, U_LOW, U_LO, U_HI, N_UNIFORM };
enum { N_PA, N_DP, N_SIGN, N_STD, N_MEAN, N_LO, N_HI, N_NORMAL };

/* Every float expression below is evaluated in binary32, one rounding per operation: C's
 * FLT_EVAL_METHOD 0 (x86-64 SSE, AArch64) and no contraction of a * b + c into an FMA
 * (-ffp-contract=off). rnd() marks the products that the Python definition fences (FloatOps.rnd). */
#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
#error "the portable kernel needs FLT_EVAL_METHOD == 0 (float expressions evaluated in float)"
#endif
static inline float rnd(float x) { return x; }

/* numpy.maximum / numpy.minimum on non-NaN operands */
static inline float vmax(float a, float b) { return a >= b ? a : b; }
static inline float vmin(float a, float b) { return a <= b ? a : b; }

/* Philox-4x32-10 of `nb` consecutive blocks b0 .. b0+nb-1 (counter (b, 0, draw, 0)), lanes
 * interleaved: words[4 j + l] = lane l of block b0 + j. The blocks are independent, so the rounds
 * run across all of them at once (instruction-level parallelism; the compiler may vectorize). */
static void philox_blocks(uint32_t b0, int nb, uint32_t draw, const uint32_t *keys, uint32_t *words) {
    uint32_t c0[BLOCKS], c1[BLOCKS], c2[BLOCKS], c3[BLOCKS];
    for (int j = 0; j < nb; j++) {
        c0[j] = b0 + (uint32_t)j; c1[j] = 0; c2[j] = draw; c3[j] = 0;
    }
    for (int r = 0; r < ROUNDS; r++) {
        const uint32_t k0 = keys[2 * r], k1 = keys[2 * r + 1];
        for (int j = 0; j < nb; j++) {
            uint64_t p0 = (uint64_t)PHILOX_M0 * c0[j], p1 = (uint64_t)PHILOX_M1 * c2[j];
            uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1[j] ^ k0;
            uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3[j] ^ k1;
            c1[j] = (uint32_t)p1;
            c3[j] = (uint32_t)p0;
            c0[j] = n0;
            c2[j] = n2;
        }
    }
    for (int j = 0; j < nb; j++) {
        words[4 * j] = c0[j]; words[4 * j + 1] = c1[j]; words[4 * j + 2] = c2[j]; words[4 * j + 3] = c3[j];
    }
}

static inline float horner4(float x, float a, float b, float c, float d) {
    float acc = rnd(x * a) + b;
    acc = rnd(acc * x) + c;
    return rnd(acc * x) + d;
}

static inline float horner3(float x, float a, float b, float c) {
    float acc = rnd(x * a) + b;
    return rnd(acc * x) + c;
}

/* _float32.log_pos: FreeBSD/musl logf from an exact frexp */
static inline float log_pos(float x, const float *K) {
    /* frexp of a positive normal float (x >= FLT_MIN here): the exponent field, and the fraction
     * with the exponent of 1/2; exact, as np.frexp */
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    int e = (int)((bits >> 23) & 0xFFu) - 126;
    uint32_t mbits = (bits & 0x007FFFFFu) | 0x3F000000u;
    float m;
    memcpy(&m, &mbits, sizeof m);
    int big = m >= K[C_SQRT_HALF];
    float f = (big ? m : m * 2.0f) - 1.0f;
    float dk = (float)e - (big ? 0.0f : 1.0f);
    float s = f / (f + 2.0f);
    float z = s * s;
    float w = z * z;
    float r = rnd(z * (rnd(w * K[C_LG3]) + K[C_LG1])) + rnd(w * (rnd(w * K[C_LG4]) + K[C_LG2]));
    float hfsq = rnd(f * f) * 0.5f;
    float acc = rnd(s * (hfsq + r)) + rnd(dk * K[C_LN2_LO]);
    acc = acc - hfsq;
    acc = acc + f;
    return acc + rnd(dk * K[C_LN2_HI]);
}

/* _float32.ndtri, Wichura's AS 241 (PPND7), in two parts: q = min(p, 1 - p) (exact there) and its
 * central value for every element (branch-free, so a batch vectorizes), then the tail value
 * (|q - 1/2| > 0.425, about 15% of a normal's elements) for those elements only. */
static inline float ndtri_q(float p, const float *K) {
    return vmax(p > 0.5f ? 1.0f - p : p, K[C_FLT_MIN]);
}

static inline int ndtri_central(float q, const float *K) {
    return q - 0.5f >= -K[C_SPLIT1];
}

static inline float ndtri_central_value(float q, const float *K) {
    float c = q - 0.5f;
    float s = K[C_CONST1] - rnd(c * c);
    float num = horner4(s, K[C_NUM_C0], K[C_NUM_C1], K[C_NUM_C2], K[C_NUM_C3]);
    float den = rnd(horner3(s, K[C_DEN_C0], K[C_DEN_C1], K[C_DEN_C2]) * s) + 1.0f;
    return (num * c) / den;
}

/* The tail region's coefficients in locals: the loop over the tail elements then picks them by
 * select. Selecting between two loads from `constants` (`mid ? K[i] : K[j]`) is a conditional load,
 * which keeps a branch in the loop, and the loop scalar (measured with -fopt-info-vec). */
typedef struct {
    float split2, const2, m0, m1, m2, m3, dm0, dm1, dm2, f0, f1, f2, f3, df0, df1, df2;
} tail_k;

static inline tail_k tail_constants(const float *K) {
    tail_k c = {K[C_SPLIT2], K[C_CONST2], K[C_NUM_M0], K[C_NUM_M1], K[C_NUM_M2], K[C_NUM_M3], K[C_DEN_M0],
                K[C_DEN_M1], K[C_DEN_M2], K[C_NUM_F0], K[C_NUM_F1], K[C_NUM_F2], K[C_NUM_F3], K[C_DEN_F0],
                K[C_DEN_F1], K[C_DEN_F2]};
    return c;
}

static inline float ndtri_tail_value(float q, const float *K, const tail_k c) {
    float t = sqrtf(log_pos(q, K) * -1.0f);
    int mid = t <= c.split2;  /* region coefficients by select (branch-free, so the loop vectorizes) */
    float s = t - (mid ? c.const2 : c.split2);
    float num = horner4(s, mid ? c.m0 : c.f0, mid ? c.m1 : c.f1, mid ? c.m2 : c.f2, mid ? c.m3 : c.f3);
    float den = horner3(s, mid ? c.dm0 : c.df0, mid ? c.dm1 : c.df1, mid ? c.dm2 : c.df2);
    den = rnd(den * s) + 1.0f;
    return (num * -1.0f) / den;
}

static inline float uniform_value(uint32_t w, const float *P, const float *K) {
    float u = (float)(w >> 8) * K[C_TWO_M24];
    return vmin(vmax(rnd(u * P[U_SPAN]) + P[U_LOW], P[U_LO]), P[U_HI]);
}

/* _spec._normal_t, the part before ndtri: p = clip(V dp + pa) */
static inline float normal_p(uint32_t w, const float *P, const float *K) {
    float v = ((float)(w >> 9) * 2.0f + 1.0f) * K[C_TWO_M24];
    return vmin(vmax(rnd(v * P[N_DP]) + P[N_PA], K[C_FLT_MIN]), K[C_ONE_MINUS_ULP]);
}

/* _spec._normal_t, the part after ndtri: clip(sign std z + mean) */
static inline float normal_out(float x, const float *P) {
    float z = rnd(rnd(x * P[N_SIGN]) * P[N_STD]) + P[N_MEAN];
    return vmin(vmax(z, P[N_LO]), P[N_HI]);
}

/* One clone per x86-64 vector width (GCC/Clang function multi-versioning, chosen at load time by
 * the CPU): the same IEEE operations, 4 or 8 lanes at a time; no FMA either way (-ffp-contract=off). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
static void fill_range(int kind, const uint32_t *keys, uint32_t draw, uint64_t start, Py_ssize_t n,
                       const float *P, const float *K, float *out) {
    uint32_t words[BATCH];
    float p[BATCH], x[BATCH], tq[BATCH], tv[BATCH];
    int tails[BATCH];
    uint64_t block = start >> 2;
    const tail_k tk = tail_constants(K);
    for (Py_ssize_t done = 0; done < n; ) {
        Py_ssize_t m = n - done < BATCH ? n - done : BATCH;
        philox_blocks((uint32_t)block, (int)((m + 3) / 4), draw, keys, words);
        float *o = out + done;
        if (kind == KIND_UNIFORM) {
            for (Py_ssize_t i = 0; i < m; i++)
                o[i] = uniform_value(words[i], P, K);
        } else {
            for (Py_ssize_t i = 0; i < m; i++)
                p[i] = normal_p(words[i], P, K);
            for (Py_ssize_t i = 0; i < m; i++)
                x[i] = ndtri_central_value(ndtri_q(p[i], K), K);
            int nt = 0;  /* the tail elements, gathered, evaluated in one loop, scattered back */
            for (Py_ssize_t i = 0; i < m; i++)
                if (!ndtri_central(ndtri_q(p[i], K), K))
                    tails[nt++] = (int)i;
            for (int t = 0; t < nt; t++)
                tq[t] = ndtri_q(p[tails[t]], K);
            for (int t = 0; t < nt; t++)
                tv[t] = ndtri_tail_value(tq[t], K, tk);
            for (int t = 0; t < nt; t++)
                x[tails[t]] = tv[t];
            for (Py_ssize_t i = 0; i < m; i++) {
                float xi = p[i] > 0.5f ? -x[i] : x[i];
                o[i] = normal_out(xi, P);
            }
        }
        done += m;
        block += BLOCKS;
    }
}

static int check_buffer(Py_buffer *b, Py_ssize_t items, Py_ssize_t itemsize, const char *name) {
    if (b->len != items * itemsize) {
        PyErr_Format(PyExc_ValueError, "Argument `%s` must hold %zd bytes. Received: %zd bytes",
                     name, items * itemsize, b->len);
        return -1;
    }
    return 0;
}

/* The arguments fill and fill_t share: a known kind and the sizes of its three input buffers. */
static int check_inputs(int kind, Py_buffer *keys, Py_buffer *params, Py_buffer *constants) {
    if (kind != KIND_UNIFORM && kind != KIND_NORMAL) {
        PyErr_Format(PyExc_ValueError, "Argument `kind` must be 0 (uniform) or 1 (normal). Received: kind=%d", kind);
        return -1;
    }
    if (check_buffer(keys, 2 * ROUNDS, 4, "keys") || check_buffer(params, kind == KIND_UNIFORM ? N_UNIFORM : N_NORMAL,
                                                                  4, "params")
        || check_buffer(constants, N_CONSTANTS, 4, "constants"))
        return -1;
    return 0;
}

static void release(Py_buffer *keys, Py_buffer *params, Py_buffer *constants, Py_buffer *out) {
    PyBuffer_Release(keys);
    PyBuffer_Release(params);
    PyBuffer_Release(constants);
    PyBuffer_Release(out);
}

static PyObject *fill(PyObject *self, PyObject *args) {
    int kind;
    unsigned int draw;
    unsigned long long start;
    Py_ssize_t n;
    Py_buffer keys, params, constants, out;
    if (!PyArg_ParseTuple(args, "iy*IKny*y*w*", &kind, &keys, &draw, &start, &n, &params, &constants, &out))
        return NULL;
    PyObject *result = NULL;
    if (check_inputs(kind, &keys, &params, &constants)) {
        /* the error is set */
    } else if (start % 4 || n < 0 || start + (unsigned long long)n > 4ULL * 4294967296ULL) {
        PyErr_Format(PyExc_ValueError, "Arguments `start` (a multiple of 4) and `n` must stay within the stream's "
                     "4 * 2**32 elements. Received: start=%llu, n=%zd", start, n);
    } else if (check_buffer(&out, n, 4, "out") == 0) {
        Py_BEGIN_ALLOW_THREADS
        fill_range(kind, (const uint32_t *)keys.buf, draw, start, n, (const float *)params.buf,
                   (const float *)constants.buf, (float *)out.buf);
        Py_END_ALLOW_THREADS
        Py_INCREF(Py_None);
        result = Py_None;
    }
    release(&keys, &params, &constants, &out);
    return result;
}

/* fill_t: a logical (R, C) tensor whose logical rows are contiguous in memory but whose logical
 * columns are not: column c of the logical tensor is the R consecutive floats at out + rowoff[c]
 * (out[rowoff[c] + r] = element r C + c). A 2-D transpose, physical (C, R) with row stride ld, has
 * rowoff[c] = c ld (also a block of a wider matrix, e.g. one of the q/k/v blocks of a fused
 * projection); a Keras/Flax conv kernel (kh, kw, in, out) of the logical (out, in, kh, kw) has
 * rowoff[i kh kw + k] = (k in + i) out. Logical rows r_begin .. r_end - 1 (r_begin a multiple of
 * TILE_ROWS), in tiles of TILE_ROWS logical rows (one contiguous, 4-aligned logical range) generated
 * into `tile`, then written TILE_ROWS consecutive floats per column: no second pass over memory. */
#define TILE_ROWS 16

static void fill_transposed(int kind, const uint32_t *keys, uint32_t draw, Py_ssize_t R, Py_ssize_t C,
                            const int64_t *rowoff, Py_ssize_t r_begin, Py_ssize_t r_end, const float *P,
                            const float *K, float *out, float *tile) {
    for (Py_ssize_t r0 = r_begin; r0 < r_end; r0 += TILE_ROWS) {
        Py_ssize_t tr = r_end - r0 < TILE_ROWS ? r_end - r0 : TILE_ROWS;
        fill_range(kind, keys, draw, (uint64_t)r0 * (uint64_t)C, tr * C, P, K, tile);
        for (Py_ssize_t c = 0; c < C; c++) {
            float *dst = out + rowoff[c] + r0;
            for (Py_ssize_t k = 0; k < tr; k++)
                dst[k] = tile[k * C + c];
        }
    }
}

static PyObject *fill_t(PyObject *self, PyObject *args) {
    int kind;
    unsigned int draw;
    Py_ssize_t R, C, r_begin, r_end;
    Py_buffer keys, params, constants, rowoff, out;
    if (!PyArg_ParseTuple(args, "iy*Inny*nny*y*w*", &kind, &keys, &draw, &R, &C, &rowoff, &r_begin, &r_end, &params,
                          &constants, &out))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t bad = -1;
    if (check_inputs(kind, &keys, &params, &constants)) {
        /* the error is set */
    } else if (R < 0 || C < 0 || (unsigned long long)R * (unsigned long long)C > 4ULL * 4294967296ULL) {
        PyErr_Format(PyExc_ValueError, "Arguments `R` and `C` must be >= 0 with R * C within the stream's 4 * 2**32 "
                     "elements. Received: R=%zd, C=%zd", R, C);
    } else if (r_begin < 0 || r_begin > r_end || r_end > R || r_begin % TILE_ROWS) {
        PyErr_Format(PyExc_ValueError, "Arguments `r_begin` (a multiple of %d) and `r_end` must satisfy 0 <= r_begin "
                     "<= r_end <= R. Received: r_begin=%zd, r_end=%zd, R=%zd", TILE_ROWS, r_begin, r_end, R);
    } else if (check_buffer(&rowoff, C, 8, "rowoff") == 0) {
        const int64_t *off = (const int64_t *)rowoff.buf;
        Py_ssize_t floats = out.len / 4;
        for (Py_ssize_t c = 0; c < C && bad < 0; c++)  /* every column inside out */
            if (off[c] < 0 || off[c] > floats - R)
                bad = c;
        if (bad >= 0) {
            PyErr_Format(PyExc_ValueError, "Argument `rowoff` must put every column's R = %zd floats inside `out` "
                         "(%zd floats). Received: rowoff[%zd]=%lld", R, floats, bad, (long long)off[bad]);
        } else {
            float *tile = PyMem_RawMalloc(sizeof(float) * (size_t)(TILE_ROWS * (C > 0 ? C : 1)));
            if (tile == NULL) {
                PyErr_NoMemory();
            } else {
                Py_BEGIN_ALLOW_THREADS
                fill_transposed(kind, (const uint32_t *)keys.buf, draw, R, C, off, r_begin, r_end,
                                (const float *)params.buf, (const float *)constants.buf, (float *)out.buf, tile);
                Py_END_ALLOW_THREADS
                PyMem_RawFree(tile);
                Py_INCREF(Py_None);
                result = Py_None;
            }
        }
    }
    PyBuffer_Release(&rowoff);
    release(&keys, &params, &constants, &out);
    return result;
}

static PyMethodDef methods[] = {
    {"fill", fill, METH_VARARGS,
     "fill(kind, keys, draw, start, n, params, constants, out): elements start .. start+n-1 of a portable "
     "stream draw (kind 0 uniform, 1 normal) into the float32 buffer out."},
    {"fill_t", fill_t, METH_VARARGS,
     "fill_t(kind, keys, draw, R, C, rowoff, r_begin, r_end, params, constants, out): logical rows r_begin .. "
     "r_end-1 of a logical (R, C) tensor into the float32 buffer out, logical column c at out[rowoff[c]:][:R] "
     "(int64 rowoff: a transpose, a block of one, a conv kernel stored (kh, kw, in, out))."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_ckernel", NULL, -1, methods};

PyMODINIT_FUNC PyInit__ckernel(void) {
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && (PyModule_AddIntConstant(m, "N_CONSTANTS", N_CONSTANTS) < 0
                      || PyModule_AddIntConstant(m, "TILE_ROWS", TILE_ROWS) < 0)) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
