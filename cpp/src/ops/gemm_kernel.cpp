// GotoBLAS/BLIS-style GEMM for float and double.
//
// Loops (outermost first), for out[n, m] += a[n, k] @ b[k, m]:
//   columns in blocks of NB  >  k in blocks of KC (pack b's KC x NB block into NR-column
//   panels: it stays in L2)  >  rows in panels of MR (pack a's MR x KC panel: it stays in L1)
//   >  NR-column panels of the block: micro-kernel, MR x NR accumulators in registers.
// Packing reads any strides (row-major, column-major, broadcast or step-sliced views), so no
// operand is ever copied whole. Edge panels: rows by a micro-kernel instantiated for fewer rows,
// columns by zero-padded b panels and masked stores.
//
// Reproducibility: an output element is always acc = fma(a[i,p], b[p,j], acc) for p in order
// within each k block, then out = alpha * acc + beta * out (first block) or out += alpha * acc;
// the k blocks depend only on k. Which tile or thread computes an element changes nothing.
#include "gemm_kernel.h"

#include "../core/buffer.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>

namespace ember {

namespace {

// ---- SIMD vocabulary: one register of W lanes, with masked access for the last columns ----
template <typename T>
struct Simd;

#if defined(__AVX512F__)
template <>
struct Simd<float> {
  using Reg = __m512;
  using Mask = __mmask16;
  static constexpr int W = 16;
  static Reg zero() { return _mm512_setzero_ps(); }
  static Reg set1(float x) { return _mm512_set1_ps(x); }
  static Reg load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, Reg x) { _mm512_storeu_ps(p, x); }
  static Mask mask(int n) { return static_cast<Mask>((1u << n) - 1u); }
  static Reg load(const float* p, Mask k) { return _mm512_maskz_loadu_ps(k, p); }
  static void store(float* p, Reg x, Mask k) { _mm512_mask_storeu_ps(p, k, x); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  static Reg mul(Reg a, Reg b) { return _mm512_mul_ps(a, b); }
  static Reg add(Reg a, Reg b) { return _mm512_add_ps(a, b); }
};
template <>
struct Simd<double> {
  using Reg = __m512d;
  using Mask = __mmask8;
  static constexpr int W = 8;
  static Reg zero() { return _mm512_setzero_pd(); }
  static Reg set1(double x) { return _mm512_set1_pd(x); }
  static Reg load(const double* p) { return _mm512_loadu_pd(p); }
  static void store(double* p, Reg x) { _mm512_storeu_pd(p, x); }
  static Mask mask(int n) { return static_cast<Mask>((1u << n) - 1u); }
  static Reg load(const double* p, Mask k) { return _mm512_maskz_loadu_pd(k, p); }
  static void store(double* p, Reg x, Mask k) { _mm512_mask_storeu_pd(p, k, x); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm512_fmadd_pd(a, b, c); }
  static Reg mul(Reg a, Reg b) { return _mm512_mul_pd(a, b); }
  static Reg add(Reg a, Reg b) { return _mm512_add_pd(a, b); }
};
// 32 registers: 14 x 2 accumulators, 2 for b, broadcasts of a fold into the FMAs.
constexpr int kMR = 14;
#else
template <>
struct Simd<float> {
  using Reg = __m256;
  using Mask = __m256i;
  static constexpr int W = 8;
  static Reg zero() { return _mm256_setzero_ps(); }
  static Reg set1(float x) { return _mm256_set1_ps(x); }
  static Reg load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, Reg x) { _mm256_storeu_ps(p, x); }
  static Mask mask(int n) { return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)); }
  static Reg load(const float* p, Mask k) { return _mm256_maskload_ps(p, k); }
  static void store(float* p, Reg x, Mask k) { _mm256_maskstore_ps(p, k, x); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
  static Reg mul(Reg a, Reg b) { return _mm256_mul_ps(a, b); }
  static Reg add(Reg a, Reg b) { return _mm256_add_ps(a, b); }
};
template <>
struct Simd<double> {
  using Reg = __m256d;
  using Mask = __m256i;
  static constexpr int W = 4;
  static Reg zero() { return _mm256_setzero_pd(); }
  static Reg set1(double x) { return _mm256_set1_pd(x); }
  static Reg load(const double* p) { return _mm256_loadu_pd(p); }
  static void store(double* p, Reg x) { _mm256_storeu_pd(p, x); }
  static Mask mask(int n) { return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3)); }
  static Reg load(const double* p, Mask k) { return _mm256_maskload_pd(p, k); }
  static void store(double* p, Reg x, Mask k) { _mm256_maskstore_pd(p, k, x); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm256_fmadd_pd(a, b, c); }
  static Reg mul(Reg a, Reg b) { return _mm256_mul_pd(a, b); }
  static Reg add(Reg a, Reg b) { return _mm256_add_pd(a, b); }
};
// 16 registers: 6 x 2 accumulators, 2 for b, 1 broadcast.
constexpr int kMR = 6;
#endif

constexpr int kNV = 2;  // registers per accumulator row
template <typename T>
constexpr int kNR = kNV * Simd<T>::W;

// Blocking: a's MR x KC panel (L1) and b's KC x NB block (L2, 2 MiB class) per core.
template <typename T>
constexpr int64_t kKC = sizeof(T) == 4 ? 384 : 256;
template <typename T>
constexpr int64_t kNB = sizeof(T) == 4 ? 768 : 512;

// ---- micro-kernel: out[MRX, nr] (=|+=) alpha * apanel[MRX, kc] @ bpanel[kc, NV * W] ----
// apanel holds kMR values per k step (the first MRX used); b rows are ldb apart. NV = kNV
// registers per row for whole panels, 1 for a last panel of at most W columns (a GEMM with
// m = 100 would otherwise spend a quarter of its FMAs on zero padding).
template <typename T, int MRX, int NV>
void micro_kernel(int64_t kc, const T* a, const T* b, int64_t ldb, T* out, int64_t ldo, int nr, T alpha, T beta) {
  using S = Simd<T>;
  using Reg = typename S::Reg;
  constexpr int W = S::W;
  Reg acc[MRX][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MRX; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = S::zero();
  // The output tile is needed only after the k loop: start fetching it now.
#pragma GCC unroll 16
  for (int i = 0; i < MRX; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(out + i * ldo), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(out + i * ldo + NV * W - 1), _MM_HINT_T0);
  }
  for (int64_t p = 0; p < kc; ++p) {
    Reg bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = S::load(b + v * W);
#pragma GCC unroll 16
    for (int i = 0; i < MRX; ++i) {
      Reg ai = S::set1(a[i]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = S::fma(ai, bv[v], acc[i][v]);
    }
    a += kMR;
    b += ldb;
  }
  const Reg valpha = S::set1(alpha), vbeta = S::set1(beta);
  const bool scale = alpha != T(1);
  if (nr == NV * W) {
#pragma GCC unroll 16
    for (int i = 0; i < MRX; ++i) {
      T* o = out + i * ldo;
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        Reg r = scale ? S::mul(valpha, acc[i][v]) : acc[i][v];
        if (beta == T(1))
          r = S::add(S::load(o + v * W), r);
        else if (beta != T(0))
          r = S::fma(vbeta, S::load(o + v * W), r);
        S::store(o + v * W, r);
      }
    }
  } else {
    typename S::Mask mk[NV];
    for (int v = 0; v < NV; ++v) mk[v] = S::mask(std::clamp(nr - v * W, 0, W));
#pragma GCC unroll 16
    for (int i = 0; i < MRX; ++i) {
      T* o = out + i * ldo;
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        Reg r = scale ? S::mul(valpha, acc[i][v]) : acc[i][v];
        if (beta == T(1))
          r = S::add(S::load(o + v * W, mk[v]), r);
        else if (beta != T(0))
          r = S::fma(vbeta, S::load(o + v * W, mk[v]), r);
        S::store(o + v * W, r, mk[v]);
      }
    }
  }
}

template <typename T>
using KernelFn = void (*)(int64_t, const T*, const T*, int64_t, T*, int64_t, int, T, T);

// kernels[r] computes r rows (1 <= r <= kMR), NV registers wide.
template <typename T, int NV, int... R>
constexpr auto make_kernels(std::integer_sequence<int, R...>) {
  return std::array<KernelFn<T>, sizeof...(R)>{micro_kernel<T, R == 0 ? 1 : R, NV>...};
}
template <typename T>
const auto kKernels = make_kernels<T, kNV>(std::make_integer_sequence<int, kMR + 1>{});
template <typename T>
const auto kNarrowKernels = make_kernels<T, 1>(std::make_integer_sequence<int, kMR + 1>{});

// ---- packing ----
// dst[p * kMR + i] = a[i * as0 + p * as1] for i < mr, p < kc.
// dst[0, n) = src[0, n) padded with zeros to a multiple of W (masked loads: never reads past n).
template <typename T>
inline void copy_padded(const T* src, int64_t n, T* dst, int64_t dst_len) {
  using S = Simd<T>;
  constexpr int W = S::W;
  int64_t j = 0;
  for (; j + W <= n; j += W) S::store(dst + j, S::load(src + j));
  if (j < n) {
    S::store(dst + j, S::load(src + j, S::mask(static_cast<int>(n - j))));
    j += W;
  }
  for (; j < dst_len; j += W) S::store(dst + j, S::zero());
}

#if defined(__AVX512F__)
// In-register transpose of 16 rows of 16 floats.
inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  auto lo = [](__m512 x, __m512 y) { return _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(x), _mm512_castps_pd(y))); };
  auto hi = [](__m512 x, __m512 y) { return _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(x), _mm512_castps_pd(y))); };
  for (int i = 0; i < 16; i += 4) {
    r[i] = lo(t[i], t[i + 2]);
    r[i + 1] = hi(t[i], t[i + 2]);
    r[i + 2] = lo(t[i + 1], t[i + 3]);
    r[i + 3] = hi(t[i + 1], t[i + 3]);
  }
  for (int h = 0; h < 16; h += 8)
    for (int i = 0; i < 4; ++i) {
      t[h + i] = _mm512_shuffle_f32x4(r[h + i], r[h + 4 + i], 0x88);
      t[h + 4 + i] = _mm512_shuffle_f32x4(r[h + i], r[h + 4 + i], 0xdd);
    }
  for (int i = 0; i < 8; ++i) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88);
    r[8 + i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0xdd);
  }
}

// Row-major float panel: 16 k steps at a time through a register transpose. Each column is
// stored as a whole register (rows past mr are zeros); the next column's store overwrites the
// spill, the last one lands in the panel's slack.
inline void pack_a_rows(const float* a, int64_t as0, int64_t mr, int64_t kc, float* dst) {
  __m512 r[16];
  for (int64_t p0 = 0; p0 < kc; p0 += 16) {
    int np = static_cast<int>(std::min<int64_t>(16, kc - p0));
    __mmask16 mk = static_cast<__mmask16>((1u << np) - 1u);
    for (int i = 0; i < 16; ++i) r[i] = i < mr ? _mm512_maskz_loadu_ps(mk, a + i * as0 + p0) : _mm512_setzero_ps();
    transpose16(r);
    for (int p = 0; p < np; ++p) _mm512_storeu_ps(dst + (p0 + p) * kMR, r[p]);
  }
}
#endif

template <typename T>
void pack_a(const T* a, int64_t as0, int64_t as1, int64_t mr, int64_t kc, T* dst) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>) {
    if (as1 == 1) return pack_a_rows(a, as0, mr, kc, dst);
  }
#endif
  if (as0 == 1) {
    // Rounded up to whole registers: the panel has kMR values per k step plus one register of slack.
    for (int64_t p = 0; p < kc; ++p) copy_padded(a + p * as1, mr, dst + p * kMR, 0);
  } else if (as1 == 1) {
    for (int64_t i = 0; i < mr; ++i) {
      const T* src = a + i * as0;
      for (int64_t p = 0; p < kc; ++p) dst[p * kMR + i] = src[p];
    }
  } else {
    for (int64_t p = 0; p < kc; ++p)
      for (int64_t i = 0; i < mr; ++i) dst[p * kMR + i] = a[i * as0 + p * as1];
  }
}

// b's kc x nb block as NR-column panels: panel q holds dst[q * kc * NR + p * NR + j]
// = b[p * bs0 + (q * NR + j) * bs1], zero past column nb.
template <typename T>
void pack_b(const T* b, int64_t bs0, int64_t bs1, int64_t kc, int64_t nb, T* dst) {
  constexpr int64_t NR = kNR<T>;
  if (bs1 == 1) {
    // Row by row: sequential reads keep the hardware prefetchers streaming.
    for (int64_t p = 0; p < kc; ++p)
      for (int64_t j0 = 0; j0 < nb; j0 += NR)
        copy_padded(b + p * bs0 + j0, std::min(NR, nb - j0), dst + j0 * kc + p * NR, NR);
    return;
  }
  for (int64_t j0 = 0; j0 < nb; j0 += NR, dst += kc * NR) {
    int64_t nr = std::min(NR, nb - j0);
    const T* src = b + j0 * bs1;
    if (nr < NR)
      for (int64_t p = 0; p < kc; ++p) std::memset(dst + p * NR + nr, 0, sizeof(T) * (NR - nr));
    if (bs0 == 1) {
      for (int64_t j = 0; j < nr; ++j)
        for (int64_t p = 0; p < kc; ++p) dst[p * NR + j] = src[j * bs1 + p];
    } else {
      for (int64_t p = 0; p < kc; ++p)
        for (int64_t j = 0; j < nr; ++j) dst[p * NR + j] = src[p * bs0 + j * bs1];
    }
  }
}

// A per-thread scratch buffer, reused (and grown) across calls.
template <typename T>
struct Scratch {
  Buffer<T> data;
  size_t size = 0;
  T* get(size_t n) {
    if (n > size) {
      data = buffer<T>(static_cast<int64_t>(n));
      size = n;
    }
    return data.get();
  }
};

}  // namespace

template <typename T>
int64_t gemm_simd_rows() { return kMR; }
template <typename T>
int64_t gemm_simd_cols() { return kNR<T>; }

template <typename T>
void gemm_simd(const T* a, int64_t as0, int64_t as1, const T* b, int64_t bs0, int64_t bs1, T* out, int64_t ldo,
               int64_t n, int64_t k, int64_t m, T alpha, T beta) {
  constexpr int64_t NR = kNR<T>, KC = kKC<T>, NB = kNB<T>;
  if (n <= 0 || m <= 0 || k <= 0) return;
  // k blocks of equal size (bounds depend only on k).
  int64_t kblocks = (k + KC - 1) / KC, kcs = (k + kblocks - 1) / kblocks;
  // Row panels of near-equal height (32 rows: 11 + 11 + 10, not 14 + 14 + 4): a short last
  // panel leaves most of the FMA units idle.
  const int64_t panels = (n + kMR - 1) / kMR, base_rows = n / panels, taller = n % panels;
  auto panel_rows = [&](int64_t panel) { return base_rows + (panel < taller ? 1 : 0); };
  thread_local Scratch<T> abuf, bbuf;
  T* ap = abuf.get(static_cast<size_t>(kMR * kcs + Simd<T>::W));
  // Row-major b feeding only a few row panels is read in place: each value is used a few
  // times at most, and packing would cost about as much as the products. So is b feeding up to
  // ten panels from blocks that stay in L2 (up to 3/4 of a 1 MiB L2): a conv's 64 output
  // channels, a batch of 64 (packing took 4-11% of such products, 64..140 rows); larger blocks
  // come from further out for every panel, and packed they are 7% faster (64 x 2048 @ 2048^2).
  const int64_t b_block_bytes = kcs * std::min(NB, m) * static_cast<int64_t>(sizeof(T));
  const bool direct_b = bs1 == 1 && (n <= 4 * kMR || (n <= 10 * kMR && b_block_bytes <= (int64_t(768) << 10)));
  T* bp = bbuf.get(static_cast<size_t>(kcs * ((std::min(NB, m) + NR - 1) / NR * NR)));
  for (int64_t jc = 0; jc < m; jc += NB) {
    int64_t nb = std::min(NB, m - jc);
    for (int64_t pc = 0; pc < k; pc += kcs) {
      int64_t kc = std::min(kcs, k - pc);
      T be = pc == 0 ? beta : T(1);
      const T* bblock = b + pc * bs0 + jc * bs1;
      // Where panel jr of the block is, and the distance between its k rows.
      int64_t full = direct_b ? nb / NR * NR : 0;
      pack_b(bblock + full * bs1, bs0, bs1, kc, nb - full, bp);
      for (int64_t ir = 0, panel = 0; ir < n; ir += panel_rows(panel++)) {
        int64_t mr = panel_rows(panel);
        pack_a(a + ir * as0 + pc * as1, as0, as1, mr, kc, ap);
        KernelFn<T> kern = kKernels<T>[mr], narrow = kNarrowKernels<T>[mr];
        T* o = out + ir * ldo + jc;
        for (int64_t jr = 0; jr < full; jr += NR) kern(kc, ap, bblock + jr, bs0, o + jr, ldo, NR, alpha, be);
        for (int64_t jr = full; jr < nb; jr += NR) {
          const int nr = static_cast<int>(std::min(NR, nb - jr));
          (nr <= Simd<T>::W ? narrow : kern)(kc, ap, bp + ((jr - full) / NR) * kc * NR, NR, o + jr, ldo, nr, alpha, be);
        }
      }
    }
  }
}

template int64_t gemm_simd_rows<float>();
template int64_t gemm_simd_rows<double>();
template int64_t gemm_simd_cols<float>();
template int64_t gemm_simd_cols<double>();
template void gemm_simd<float>(const float*, int64_t, int64_t, const float*, int64_t, int64_t, float*, int64_t,
                               int64_t, int64_t, int64_t, float, float);
template void gemm_simd<double>(const double*, int64_t, int64_t, const double*, int64_t, int64_t, double*, int64_t,
                                int64_t, int64_t, int64_t, double, double);

}  // namespace ember

#endif
