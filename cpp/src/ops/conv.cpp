// Convolution as im2col + GEMM, forward and backward side by side: conv1d/2d/3d, the transposed
// convolutions, and unfold/fold (im2col/col2im as public ops).
//
// Geometry. A ConvGeom right-aligns the 1-3 spatial dims into three (leading dims of size 1) and
// names two sides: the image (the input of a convolution, the output of a transposed one) and the
// columns (the output of a convolution, the input of a transposed one). Both sizes are explicit,
// so asymmetric padding ('same' with an even kernel) and output_padding need no special case:
// padding is only the amount before each dim. im2col copies image patches into a [C*K, L] matrix
// (zeros outside the image); col2im adds such a matrix back into the image; one loop does both.
//
// With weights W of shape [col channels, image channels / groups, K], three kernels serve every
// direction (per sample n and group g):
//   im2col_gemm    cols[n, g] = W_g @ im2col(img[n])_g                (convolution forward)
//   gemm_col2im    img[n]     = col2im(W_g^T @ cols[n, g])            (its input gradient)
//   weight_grad    dW_g       = sum_n cols[n, g] @ im2col(img[n])_g^T  (its weight gradient)
// A transposed convolution runs gemm_col2im forward and im2col_gemm for its input gradient.
//
// Threads: samples are spread over the threads when there are at least as many samples as
// threads; otherwise each sample's GEMM and im2col are (by output blocks and channels). Both give
// the same bits. The weight gradient sums per-sample products into a fixed number of slots (a
// function of the batch size only), added in slot order: results do not depend on the threads.
//
// Autograd: ConvolutionBackward0 runs those kernels; under create_graph its gradients are written
// with public ops (the convolution of the other direction, im2col and matmul), so higher
// derivatives work.
#include <algorithm>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif
#include "../core/buffer.h"
#include "elementwise_kernels.h"
#include "gemm_kernel.h"
#include "linalg_kernels.h"

namespace ember {

namespace {

struct ConvGeom {
  int nd = 2;  // spatial dims of the public tensors (the last nd of the three below)
  int64_t img[3] = {1, 1, 1}, col[3] = {1, 1, 1}, k[3] = {1, 1, 1};
  int64_t stride[3] = {1, 1, 1}, pad[3] = {0, 0, 0}, dil[3] = {1, 1, 1};
  int64_t img_size() const { return img[0] * img[1] * img[2]; }
  int64_t col_size() const { return col[0] * col[1] * col[2]; }
  int64_t k_size() const { return k[0] * k[1] * k[2]; }
  // A 1x1 convolution with unit stride and no padding: the columns are the image itself.
  bool pointwise() const {
    for (int i = 0; i < 3; ++i)
      if (k[i] != 1 || stride[i] != 1 || pad[i] != 0 || img[i] != col[i]) return false;
    return true;
  }
  Shape img_shape() const { return Shape(img + 3 - nd, img + 3); }
  Shape col_shape() const { return Shape(col + 3 - nd, col + 3); }
};

// One kernel offset's copy between an image row and a column row of OW positions: column ow
// reads image column ow * s + off, and [lo, hi) are the columns inside the image. Rows of at
// most one SIMD register (stride 1, float or double with AVX-512) move with one masked load and
// store, the masks made once per kernel offset: small images have thousands of such rows.
template <typename T>
struct RowCopy {
  int64_t OW, s, off, lo, hi;
#if defined(__AVX512F__)
  bool short_row = false;
  uint32_t in_mask = 0, row_mask = 0;
#endif
  RowCopy(int64_t OW, int64_t IW, int64_t s, int64_t off) : OW(OW), s(s), off(off) {
    lo = off >= 0 ? 0 : (-off + s - 1) / s;
    hi = IW - 1 - off < 0 ? 0 : (IW - 1 - off) / s + 1;
    lo = std::min(lo, OW);
    hi = std::clamp(hi, lo, OW);
#if defined(__AVX512F__)
    constexpr int64_t kLanes = 64 / sizeof(T);
    if ((std::is_same_v<T, float> || std::is_same_v<T, double>) && s == 1 && OW <= kLanes) {
      short_row = true;
      in_mask = ((1u << hi) - 1u) & ~((1u << lo) - 1u);
      row_mask = (1u << OW) - 1u;
    }
#endif
  }

  // row = the image row's patch values, zeros outside the image.
  void to_col(const T* src, T* row) const {
#if defined(__AVX512F__)
    if constexpr (std::is_same_v<T, float>) {
      if (short_row) {
        _mm512_mask_storeu_ps(row, static_cast<__mmask16>(row_mask),
                              _mm512_maskz_loadu_ps(static_cast<__mmask16>(in_mask), src + off));
        return;
      }
    } else if constexpr (std::is_same_v<T, double>) {
      if (short_row) {
        _mm512_mask_storeu_pd(row, static_cast<__mmask8>(row_mask),
                              _mm512_maskz_loadu_pd(static_cast<__mmask8>(in_mask), src + off));
        return;
      }
    }
#endif
    for (int64_t ow = 0; ow < lo; ++ow) row[ow] = T(0);
    // Short rows: an inline loop beats a library memmove call.
    if (s == 1) {
      const T* from = src + off;
#pragma GCC ivdep
      for (int64_t ow = lo; ow < hi; ++ow) row[ow] = from[ow];
    } else {
      for (int64_t ow = lo; ow < hi; ++ow) row[ow] = src[ow * s + off];
    }
    for (int64_t ow = hi; ow < OW; ++ow) row[ow] = T(0);
  }

  // n consecutive column rows (OW apart, from r) from image rows `step` apart (from src). Short
  // float rows are stored as whole registers (half registers when they fit), with the mask
  // kept in a register, as long as that only overwrites rows written afterwards, the ones up to
  // `spill_end`: a masked store costs several times more.
  void rows_to_col(const T* src, int64_t step, T* r, int64_t n, const T* spill_end) const {
    int64_t i = 0;
#if defined(__AVX512F__)
    if constexpr (std::is_same_v<T, float>) {
      if (short_row) {
        const __mmask16 in = static_cast<__mmask16>(in_mask);
        const float* from = src + off;
#if defined(__AVX512VL__)
        if (OW <= 8) {
          for (; i < n && r <= spill_end; ++i, from += step, r += OW)
            _mm256_storeu_ps(r, _mm256_maskz_loadu_ps(static_cast<__mmask8>(in), from));
        } else
#endif
        {
          for (; i < n && r <= spill_end; ++i, from += step, r += OW) _mm512_storeu_ps(r, _mm512_maskz_loadu_ps(in, from));
        }
        src += i * step;
      }
    }
#endif
    (void)spill_end;
    for (; i < n; ++i, src += step, r += OW) to_col(src, r);
  }

  // The image row += the row's values that fall inside the image.
  void to_img(T* src, const T* row) const {
#if defined(__AVX512F__)
    if constexpr (std::is_same_v<T, float>) {
      if (short_row) {
        const __mmask16 k = static_cast<__mmask16>(in_mask);
        _mm512_mask_storeu_ps(src + off, k,
                              _mm512_add_ps(_mm512_maskz_loadu_ps(k, src + off), _mm512_maskz_loadu_ps(k, row)));
        return;
      }
    } else if constexpr (std::is_same_v<T, double>) {
      if (short_row) {
        const __mmask8 k = static_cast<__mmask8>(in_mask);
        _mm512_mask_storeu_pd(src + off, k,
                              _mm512_add_pd(_mm512_maskz_loadu_pd(k, src + off), _mm512_maskz_loadu_pd(k, row)));
        return;
      }
    }
#endif
    if (s == 1) {
      T* dst = src + off;
#pragma GCC ivdep
      for (int64_t ow = lo; ow < hi; ++ow) dst[ow] += row[ow];
    } else {
      for (int64_t ow = lo; ow < hi; ++ow) src[ow * s + off] += row[ow];
    }
  }
};

// A run of output rows [first, first + rows) of one output depth, for one (kd, kh) offset:
// rows [in0, in1) of it read image rows (the first at src, image rows `step` apart), the others
// are outside the image. Offsets are relative to the column row and to the channel's plane.
struct RowBand {
  int64_t col_offset, rows, in0, in1, src, step;
};

// Copies image patches of channels [c0, c1) into their rows of `col` (kToCol; zeros outside the
// image) or adds those rows back into the image (!kToCol). Rows are (channel, kernel offset),
// `ld` apart; columns the column-side positions (L of them, then possibly other samples'), or
// only those of output rows [q0, q1) (rows: the OD * OH runs of OW positions). `img` is only
// read when kToCol. Everything that does not depend on the channel (bounds, masks) is worked
// out once per call: with small images a channel's kernel offset has only a few rows to copy.
template <bool kToCol, typename T>
void im2col_loop(T* img, T* col, int64_t c0, int64_t c1, const ConvGeom& g, int64_t ld, int64_t q0 = 0,
                 int64_t q1 = -1) {
  const int64_t I = g.img_size(), K = g.k_size();
  const int64_t OH = g.col[1], OW = g.col[2], ID = g.img[0], IH = g.img[1], IW = g.img[2];
  const int64_t sh = g.stride[1], KDH = g.k[0] * g.k[1], KW = g.k[2];
  const int64_t q_end = q1 < 0 ? g.col[0] * OH : q1;
  std::vector<RowCopy<T>> copies;
  copies.reserve(static_cast<size_t>(KW));
  for (int64_t kw = 0; kw < KW; ++kw) copies.emplace_back(OW, IW, g.stride[2], kw * g.dil[2] - g.pad[2]);
  // For each (kd, kh), one band per output depth in [q0, q_end): bands[kdh * per_offset + i].
  const int64_t per_offset = q_end <= q0 ? 0 : (q_end - 1) / OH - q0 / OH + 1;
  std::vector<RowBand> bands;
  bands.reserve(static_cast<size_t>(KDH * per_offset));
  for (int64_t kd = 0; kd < g.k[0]; ++kd)
    for (int64_t kh = 0; kh < g.k[1]; ++kh) {
      const int64_t ih_off = kh * g.dil[1] - g.pad[1];
      for (int64_t q = q0; q < q_end;) {
        const int64_t od = q / OH, oh0 = q % OH, oh1 = std::min(OH, oh0 + (q_end - q));
        const int64_t id = od * g.stride[0] - g.pad[0] + kd * g.dil[0];
        // Rows oh with image row ih = oh * sh + ih_off inside [0, IH): [in0, in1).
        int64_t in0 = oh0, in1 = oh0;
        if (id >= 0 && id < ID) {
          in0 = std::clamp<int64_t>(ih_off >= 0 ? 0 : (-ih_off + sh - 1) / sh, oh0, oh1);
          in1 = std::clamp<int64_t>(IH - 1 - ih_off < 0 ? 0 : (IH - 1 - ih_off) / sh + 1, in0, oh1);
        }
        const int64_t src = in1 > in0 ? (id * IH + in0 * sh + ih_off) * IW : 0;
        bands.push_back({(q - q0) * OW, oh1 - oh0, in0 - oh0, in1 - oh0, src, sh * IW});
        q += oh1 - oh0;
      }
    }
  constexpr int64_t kLanes = 64 / static_cast<int64_t>(sizeof(T));
  for (int64_t c = c0; c < c1; ++c) {
    T* plane = img + c * I;
    for (int64_t kdh = 0; kdh < KDH; ++kdh)
      for (int64_t kw = 0; kw < KW; ++kw) {
        const RowCopy<T>& copy = copies[kw];
        T* const col_row = col + (c * K + kdh * KW + kw) * ld;
        for (int64_t i = 0; i < per_offset; ++i) {
          const RowBand& b = bands[kdh * per_offset + i];
          T* row = col_row + b.col_offset;
          T* src = plane + b.src;
          T* r = row + b.in0 * OW;
          if constexpr (kToCol) {
            if (b.in0 > 0) std::fill(row, r, T(0));
            // Rows may spill a register into the rows after them up to the band's end (written
            // next, or zero-filled below).
            copy.rows_to_col(src, b.step, r, b.in1 - b.in0, row + b.rows * OW - kLanes);
            if (b.in1 < b.rows) std::fill(row + b.in1 * OW, row + b.rows * OW, T(0));
          } else {
            for (int64_t oh = b.in0; oh < b.in1; ++oh, src += b.step, r += OW) copy.to_img(src, r);
          }
        }
      }
  }
}

#if defined(__AVX512F__)
// col2im of channels [c0, c1) for 2-d float images whose rows fit one register, at unit column
// stride: each image row gathers its contributions (kernel offsets in the order im2col_loop
// adds them) in a register and is stored once. Adding column rows one kernel offset at a time
// stores to each image row K times over, and every masked load then waits for the masked
// store before it (masked accesses get no store forwarding): col2im cost twice the GEMM.
bool col2im_short_rows(float* img, const float* col, int64_t c0, int64_t c1, const ConvGeom& g, int64_t ld) {
  const int64_t IH = g.img[1], IW = g.img[2], OH = g.col[1], OW = g.col[2], KH = g.k[1], KW = g.k[2];
  if (g.k[0] != 1 || g.img[0] != 1 || g.col[0] != 1 || g.stride[2] != 1 || IW > 16) return false;
  const __mmask16 row_mask = static_cast<__mmask16>((1u << IW) - 1u);
  // Kernel column kw: image column iw takes column position iw + shift[kw], for iw in mask[kw].
  std::vector<int64_t> shift(static_cast<size_t>(KW));
  std::vector<__mmask16> mask(static_cast<size_t>(KW));
  for (int64_t kw = 0; kw < KW; ++kw) {
    shift[kw] = g.pad[2] - kw * g.dil[2];
    uint32_t m = 0;
    for (int64_t iw = 0; iw < IW; ++iw)
      if (iw + shift[kw] >= 0 && iw + shift[kw] < OW) m |= 1u << iw;
    mask[kw] = static_cast<__mmask16>(m);
  }
  for (int64_t c = c0; c < c1; ++c) {
    float* plane = img + c * IH * IW;
    const float* rows = col + c * KH * KW * ld;
    for (int64_t ih = 0; ih < IH; ++ih) {
      __m512 acc = _mm512_maskz_loadu_ps(row_mask, plane + ih * IW);
      for (int64_t kh = 0; kh < KH; ++kh) {
        const int64_t t = ih + g.pad[1] - kh * g.dil[1];
        if (t < 0 || t % g.stride[1] != 0 || t / g.stride[1] >= OH) continue;
        const float* base = rows + kh * KW * ld + t / g.stride[1] * OW;
        for (int64_t kw = 0; kw < KW; ++kw)
          acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(mask[kw], base + kw * ld + shift[kw]));
      }
      _mm512_mask_storeu_ps(plane + ih * IW, row_mask, acc);
    }
  }
  return true;
}
#endif

// im2col / col2im (accumulating) of `channels` planes, parallel over channels (each channel's
// rows and plane are its own, so the split does not change the result).
template <bool kToCol, typename T>
void im2col_planes(T* img, T* col, int64_t channels, const ConvGeom& g, int64_t ld, int64_t q0 = 0,
                   int64_t q1 = -1) {
  int64_t per_channel = std::max<int64_t>(g.k_size() * (q1 < 0 ? g.col_size() : (q1 - q0) * g.col[2]), 1);
  parallel_for(0, channels, std::max<int64_t>(1, kGrainSize / per_channel), [&](int64_t c0, int64_t c1) {
#if defined(__AVX512F__)
    if constexpr (!kToCol && std::is_same_v<T, float>)
      if (q0 == 0 && q1 < 0 && col2im_short_rows(img, col, c0, c1, g, ld)) return;
#endif
    im2col_loop<kToCol, T>(img, col, c0, c1, g, ld, q0, q1);
  });
}

// Samples are processed in chunks of `batch`: small images share one im2col matrix
// [C * K, batch * L] so that each GEMM is wide enough to run at full speed. The chunk size
// depends only on the shapes, and the GEMM computes every output element the same way
// whatever the width of the product, so results do not depend on the threads.
struct SampleChunks {
  int64_t n = 0, batch = 1, count = 0;
  SampleChunks(int64_t samples, int64_t L, int64_t rows) : n(samples) {
    constexpr int64_t kMinCols = 512, kMaxElems = int64_t(1) << 18;
    batch = std::max<int64_t>(1, (kMinCols + L - 1) / std::max<int64_t>(L, 1));
    batch = std::min(batch, std::max<int64_t>(1, kMaxElems / std::max<int64_t>(rows * L, 1)));
    batch = std::clamp<int64_t>(batch, 1, std::max<int64_t>(samples, 1));
    count = (samples + batch - 1) / batch;
  }
  int64_t begin(int64_t i) const { return i * batch; }
  int64_t size(int64_t i) const { return std::min(batch, n - i * batch); }
};

// Output rows (runs of OW positions) per im2col block of one large image: about 2^17 patch
// values, which stay in cache for the GEMM that reads them.
inline int64_t rows_per_block(const ConvGeom& g, int64_t img_ch) {
  constexpr int64_t kBlockElems = int64_t(1) << 17;
  return std::max<int64_t>(1, kBlockElems / std::max<int64_t>(img_ch * g.k_size() * g.col[2], 1));
}

// Runs f(i0, i1) over chunks: spread over the threads when there are enough chunks for each
// thread to get one and the work pays for it, else on the calling thread (whose GEMMs and
// im2col are then parallel themselves). Either way every chunk is computed the same way.
template <typename F>
void for_each_chunk(int64_t chunks, int64_t work_per_chunk, const F& f) {
  if (chunks >= get_num_threads() && chunks > 1 && chunks * work_per_chunk >= (int64_t(1) << 16))
    parallel_for(0, chunks, 1, f);
  else
    f(0, chunks);
}

// A per-thread scratch buffer reused across calls (uninitialised); `Slot` tells apart the
// buffers one kernel uses at once. Very large requests are not kept.
template <typename T, int Slot>
T* thread_scratch(int64_t n, Buffer<T>& owned) {
  constexpr int64_t kKeep = int64_t(1) << 22;
  if (n > kKeep) {
    owned = buffer<T>(n);
    return owned.get();
  }
  thread_local Buffer<T> buf;
  thread_local int64_t cap = 0;
  if (n > cap) {
    buf = buffer<T>(n);
    cap = n;
  }
  return buf.get();
}

// Copies cols[n0 .. n0 + ns) [C, L] side by side into dst [C, ns * L] (or back, !kGather).
template <bool kGather, typename T>
void interleave(T* cols, T* dst, int64_t ns, int64_t C, int64_t L) {
  for (int64_t j = 0; j < ns; ++j)
    for (int64_t c = 0; c < C; ++c) {
      T* a = cols + (j * C + c) * L;
      T* b = dst + c * ns * L + j * L;
      if constexpr (kGather)
        std::copy(a, a + L, b);
      else
        std::copy(b, b + L, a);
    }
}

// cols[n] [col_ch, L] = W @ im2col(img[n]) (+ bias), W [col_ch, img_ch / groups * K].
template <typename T>
void im2col_gemm(const T* img, const T* w, const T* bias, T* cols, int64_t N, int64_t img_ch, int64_t col_ch,
                 int64_t groups, const ConvGeom& g) {
  const int64_t L = g.col_size(), I = g.img_size(), R = img_ch / groups * g.k_size(), cog = col_ch / groups;
  const bool direct = g.pointwise();
  // Pointwise convolutions use the image as the matrix in place: one sample at a time.
  SampleChunks ch(N, L, direct ? int64_t(1) << 30 : img_ch * g.k_size() + col_ch);
  const int64_t OQ = g.col[0] * g.col[1], row_block = rows_per_block(g, img_ch);
  auto add_bias = [&](int64_t n0, int64_t ns) {
    if (bias)
      for (int64_t j = 0; j < ns; ++j)
        for (int64_t c = 0; c < col_ch; ++c) {
          T* row = cols + ((n0 + j) * col_ch + c) * L;
          const T b = bias[c];
          for (int64_t l = 0; l < L; ++l) row[l] += b;
        }
  };
  for_each_chunk(ch.count, ch.batch * col_ch * R * L, [&](int64_t i0, int64_t i1) {
    Buffer<T> own0, own1;
    T* buf = direct ? nullptr : thread_scratch<T, 0>(img_ch * g.k_size() * ch.batch * L, own0);
    T* wide = ch.batch > 1 ? thread_scratch<T, 1>(col_ch * ch.batch * L, own1) : nullptr;
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n0 = ch.begin(i), ns = ch.size(i), ld = ns * L;
      const T* patches = img + n0 * img_ch * I;
      if (!direct && ns == 1 && row_block < OQ) {
        // A large image: im2col and GEMM a block of output rows at a time, so that the block's
        // patches are still in cache when the GEMM reads them.
        T* out = cols + n0 * col_ch * L;
        for (int64_t q0 = 0; q0 < OQ; q0 += row_block) {
          const int64_t q1 = std::min(OQ, q0 + row_block), w_cols = (q1 - q0) * g.col[2];
          im2col_planes<true, T>(const_cast<T*>(patches), buf, img_ch, g, w_cols, q0, q1);
          for (int64_t grp = 0; grp < groups; ++grp)
            gemm<T>(w + grp * cog * R, R, 1, buf + grp * R * w_cols, w_cols, 1, out + grp * cog * L + q0 * g.col[2], L,
                    cog, R, w_cols, T(1), T(0));
        }
        add_bias(n0, 1);
        continue;
      }
      if (!direct) {
        for (int64_t j = 0; j < ns; ++j)
          im2col_planes<true, T>(const_cast<T*>(img) + (n0 + j) * img_ch * I, buf + j * L, img_ch, g, ld);
        patches = buf;
      }
      T* out = ns > 1 ? wide : cols + n0 * col_ch * L;
      for (int64_t grp = 0; grp < groups; ++grp)
        gemm<T>(w + grp * cog * R, R, 1, patches + grp * R * ld, ld, 1, out + grp * cog * ld, ld, cog, R, ld, T(1),
                T(0));
      if (ns > 1) interleave<false, T>(cols + n0 * col_ch * L, wide, ns, col_ch, L);
      add_bias(n0, ns);
    }
  });
}

// img[n] = col2im(W^T @ cols[n]) (+ bias per image channel).
template <typename T>
void gemm_col2im(const T* cols, const T* w, const T* bias, T* img, int64_t N, int64_t img_ch, int64_t col_ch,
                 int64_t groups, const ConvGeom& g) {
  const int64_t L = g.col_size(), I = g.img_size(), R = img_ch / groups * g.k_size(), cog = col_ch / groups;
  const bool direct = g.pointwise();
  // One sample per GEMM: batching small images was measured slower here (the wide product
  // leaves the cache before col2im reads it back).
  SampleChunks ch(N, L, int64_t(1) << 30);
  for_each_chunk(ch.count, ch.batch * col_ch * R * L, [&](int64_t i0, int64_t i1) {
    Buffer<T> own0, own1;
    T* buf = direct ? nullptr : thread_scratch<T, 0>(img_ch * g.k_size() * ch.batch * L, own0);
    T* wide = ch.batch > 1 ? thread_scratch<T, 1>(col_ch * ch.batch * L, own1) : nullptr;
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n0 = ch.begin(i), ns = ch.size(i), ld = ns * L;
      T* out = img + n0 * img_ch * I;
      T* patches = direct ? out : buf;
      const T* in = cols + n0 * col_ch * L;
      if (ns > 1) {
        interleave<true, T>(const_cast<T*>(in), wide, ns, col_ch, L);
        in = wide;
      }
      for (int64_t grp = 0; grp < groups; ++grp)
        gemm<T>(w + grp * cog * R, 1, R, in + grp * cog * ld, ld, 1, patches + grp * R * ld, ld, R, cog, ld, T(1),
                T(0));
      if (!direct) {
        std::fill(out, out + ns * img_ch * I, T(0));
        for (int64_t j = 0; j < ns; ++j) im2col_planes<false, T>(out + j * img_ch * I, patches + j * L, img_ch, g, ld);
      }
      if (bias)
        for (int64_t j = 0; j < ns; ++j)
          for (int64_t c = 0; c < img_ch; ++c) {
            T* plane = out + (j * img_ch + c) * I;
            const T b = bias[c];
            for (int64_t q = 0; q < I; ++q) plane[q] += b;
          }
    }
  });
}

constexpr int64_t kWeightSlots = 8;

// dW [col_ch, img_ch / groups * K] = sum_n cols[n] @ im2col(img[n])^T, per group.
template <typename T>
void weight_grad(const T* img, const T* cols, T* dw, int64_t N, int64_t img_ch, int64_t col_ch, int64_t groups,
                 const ConvGeom& g) {
  const int64_t L = g.col_size(), I = g.img_size(), R = img_ch / groups * g.k_size(), cog = col_ch / groups;
  const int64_t W = col_ch * R;
  const bool direct = g.pointwise();
  if (N == 0) {
    std::fill(dw, dw + W, T(0));
    return;
  }
  // Slot s sums samples [s * N / S, (s + 1) * N / S) in order, in chunks of `batch` samples
  // (one GEMM each); S and the chunks depend on the shapes only.
  const int64_t S = std::min(N, kWeightSlots);
  const int64_t batch = SampleChunks(N / S, L, direct ? int64_t(1) << 30 : img_ch * g.k_size() + col_ch).batch;
  // With at least one SIMD tile of output channels, the slots hold dW^T = im2col @ cols^T:
  // the large im2col matrix is then GEMM's row-major left operand instead of a transposed
  // right one, which packs much faster.
  bool transposed = false;
  if constexpr (kGemmSimd) transposed = cog >= gemm_simd_cols<T>();
  auto partial = buffer<T>(S > 1 || transposed ? S * W : 0);
  const int64_t OQ = g.col[0] * g.col[1], row_block = rows_per_block(g, img_ch);
  int64_t work = (N / S) * col_ch * R * L;
  auto run = [&](int64_t s0, int64_t s1) {
    Buffer<T> own0, own1;
    T* buf = direct ? nullptr : thread_scratch<T, 0>(img_ch * g.k_size() * batch * L, own0);
    T* wide = batch > 1 ? thread_scratch<T, 1>(col_ch * batch * L, own1) : nullptr;
    for (int64_t s = s0; s < s1; ++s) {
      T* acc = S > 1 || transposed ? partial.get() + s * W : dw;
      const int64_t first = s * N / S, last = (s + 1) * N / S;
      for (int64_t n0 = first; n0 < last; n0 += batch) {
        const int64_t ns = std::min(batch, last - n0), ld = ns * L;
        // acc (+)= the product of the patch rows (pld apart) and cols rows (gld apart), k columns.
        auto product = [&](const T* patches, int64_t pld, const T* gr, int64_t gld, int64_t k, T beta) {
          for (int64_t grp = 0; grp < groups; ++grp)
            if (transposed)
              gemm<T>(patches + grp * R * pld, pld, 1, gr + grp * cog * gld, 1, gld, acc + grp * R * cog, cog, R, k,
                      cog, T(1), beta);
            else
              gemm<T>(gr + grp * cog * gld, gld, 1, patches + grp * R * pld, 1, pld, acc + grp * cog * R, R, cog, k,
                      R, T(1), beta);
        };
        if (!direct && ns == 1 && row_block < OQ) {  // a large image, by blocks of output rows
          for (int64_t q0 = 0; q0 < OQ; q0 += row_block) {
            const int64_t q1 = std::min(OQ, q0 + row_block), w_cols = (q1 - q0) * g.col[2];
            im2col_planes<true, T>(const_cast<T*>(img) + n0 * img_ch * I, buf, img_ch, g, w_cols, q0, q1);
            product(buf, w_cols, cols + n0 * col_ch * L + q0 * g.col[2], L, w_cols,
                    n0 == first && q0 == 0 ? T(0) : T(1));
          }
          continue;
        }
        const T* patches = img + n0 * img_ch * I;
        if (!direct) {
          for (int64_t j = 0; j < ns; ++j)
            im2col_planes<true, T>(const_cast<T*>(img) + (n0 + j) * img_ch * I, buf + j * L, img_ch, g, ld);
          patches = buf;
        }
        const T* gr = cols + n0 * col_ch * L;
        if (ns > 1) {
          interleave<true, T>(const_cast<T*>(gr), wide, ns, col_ch, L);
          gr = wide;
        }
        product(patches, ld, gr, ld, ld, n0 == first ? T(0) : T(1));
      }
    }
  };
  if (S > 1 && S >= get_num_threads() && work >= (int64_t(1) << 16))
    parallel_for(0, S, 1, run);
  else
    run(0, S);
  if (S > 1 || transposed)
    parallel_for(0, W, kGrainSize / S, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        // dw[grp, c, r] is partial[s, grp, r, c] when the slots hold dW^T.
        int64_t src = i;
        if (transposed) {
          const int64_t grp = i / (cog * R), c = i / R % cog, r = i % R;
          src = (grp * R + r) * cog + c;
        }
        T v = partial[src];
        for (int64_t s = 1; s < S; ++s) v += partial[s * W + src];
        dw[i] = v;
      }
    });
}

// Sum of x [N, C, L] over N and L, per channel (in a fixed order, in double).
template <typename T>
void channel_sum(const T* x, T* out, int64_t N, int64_t C, int64_t L) {
  parallel_for(0, C, std::max<int64_t>(1, kGrainSize / std::max<int64_t>(N * L, 1)), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      double acc = 0;
      for (int64_t n = 0; n < N; ++n) {
        const T* row = x + (n * C + c) * L;
        double part = 0;
        for (int64_t l = 0; l < L; ++l) part += row[l];
        acc += part;
      }
      out[c] = static_cast<T>(acc);
    }
  });
}

Tensor contiguous_data(const Tensor& t) {
  if (!t.defined()) return t;
  Tensor d = detach(t);
  return d.is_contiguous() ? d : contiguous(d);
}

template <typename T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// ---- differentiable building blocks (explicit geometry, batched inputs) --------------------

Tensor im2col_op(const Tensor& img, const ConvGeom& g);
Tensor col2im_op(const Tensor& cols, const ConvGeom& g);

// im2col of img [N, C, *img] -> [N, C * K, L]; its backward is col2im.
Tensor im2col_op(const Tensor& img, const ConvGeom& g) {
  Tensor x = contiguous_data(img);
  int64_t N = x.size(0), C = x.size(1);
  Tensor out = empty({N, C * g.k_size(), g.col_size()}, x.dtype());
  dispatch_floating(x.dtype(), "im2col", [&](auto tag) {
    using T = decltype(tag);
    im2col_planes<true, T>(x.data<T>(), out.data<T>(), N * C, g, g.col_size());
  });
  if (any_requires_grad({&img}))
    record_function("Im2ColBackward0", {img}, {&out},
                    [g](const GradList& gr, FunctionNode&) { return GradList{col2im_op(gr[0], g)}; });
  return out;
}

// col2im of cols [N, C * K, L] -> [N, C, *img] (overlapping patches add); its backward is im2col.
Tensor col2im_op(const Tensor& cols, const ConvGeom& g) {
  Tensor x = contiguous_data(cols);
  int64_t N = x.size(0), C = x.size(1) / g.k_size();
  Shape shape{N, C};
  for (int64_t s : g.img_shape()) shape.push_back(s);
  Tensor out = zeros(shape, x.dtype());
  dispatch_floating(x.dtype(), "col2im", [&](auto tag) {
    using T = decltype(tag);
    im2col_planes<false, T>(out.data<T>(), x.data<T>(), N * C, g, g.col_size());
  });
  if (any_requires_grad({&cols}))
    record_function("Col2ImBackward0", {cols}, {&out},
                    [g](const GradList& gr, FunctionNode&) { return GradList{im2col_op(gr[0], g)}; });
  return out;
}

// A batched, checked convolution (transposed: from the column side to the image side).
Tensor conv_op(const Tensor& x, const Tensor& w, const Tensor& b, const ConvGeom& g, int64_t groups, bool transposed);

// Weight gradient with public ops: sum_n cols[n] @ im2col(img[n])^T per group, shaped like w.
Tensor weight_grad_composite(const Tensor& img, const Tensor& cols, const Shape& w_shape, const ConvGeom& g,
                             int64_t groups) {
  int64_t N = img.size(0), L = g.col_size();
  Tensor patches = view(im2col_op(img, g), {N, groups, -1, L});
  Tensor c = reshape(cols, {N, groups, -1, L});
  return view(sum(matmul(c, transpose(patches, -1, -2)), std::vector<int64_t>{0}), w_shape);
}

Tensor conv_op(const Tensor& x, const Tensor& w, const Tensor& b, const ConvGeom& g, int64_t groups, bool transposed) {
  Tensor xc = contiguous_data(x), wc = contiguous_data(w), bc = contiguous_data(b);
  const int64_t N = x.size(0);
  // Channels on the image and column sides: w is [col_ch, img_ch / groups, *k] both ways.
  const int64_t col_ch = w.size(0), img_ch = w.size(1) * groups;
  Shape out_shape{N, transposed ? img_ch : col_ch};
  for (int64_t s : transposed ? g.img_shape() : g.col_shape()) out_shape.push_back(s);
  Tensor out = empty(out_shape, x.dtype());
  dispatch_floating(x.dtype(), transposed ? "conv_transpose" : "conv", [&](auto tag) {
    using T = decltype(tag);
    if (transposed)
      gemm_col2im<T>(xc.data<T>(), wc.data<T>(), data_or_null<T>(bc), out.data<T>(), N, img_ch, col_ch, groups, g);
    else
      im2col_gemm<T>(xc.data<T>(), wc.data<T>(), data_or_null<T>(bc), out.data<T>(), N, img_ch, col_ch, groups, g);
  });
  std::vector<Tensor> inputs{x, w};
  if (b.defined()) inputs.push_back(b);
  if (!any_requires_grad(inputs)) return out;
  const Shape w_shape = w.sizes();
  record_function(
      "ConvolutionBackward0", inputs, {&out},
      [g, groups, transposed, w_shape](const GradList& gr, FunctionNode& self) {
        Tensor go = gr[0], x = self.saved(0), w = self.saved(1);
        GradList res(self.next_edges.size());
        const int64_t N = x.size(0), col_ch = w_shape[0], img_ch = w_shape[1] * groups;
        if (grad_enabled()) {  // create_graph: the same gradients with differentiable ops
          if (self.needs_grad(0)) res[0] = conv_op(go, w, Tensor(), g, groups, !transposed);
          if (self.needs_grad(1))
            res[1] = transposed ? weight_grad_composite(go, x, w_shape, g, groups)
                                : weight_grad_composite(x, go, w_shape, g, groups);
          if (res.size() > 2 && self.needs_grad(2)) {
            std::vector<int64_t> dims{0};
            for (int i = 0; i < g.nd; ++i) dims.push_back(2 + i);
            res[2] = sum(go, dims);
          }
          return res;
        }
        Tensor gc = contiguous_data(go), xc = contiguous_data(x), wc = contiguous_data(w);
        dispatch_floating(gc.dtype(), "convolution_backward", [&](auto tag) {
          using T = decltype(tag);
          if (self.needs_grad(0)) {
            res[0] = empty(x.sizes(), x.dtype());
            if (transposed)
              im2col_gemm<T>(gc.data<T>(), wc.data<T>(), nullptr, res[0].data<T>(), N, img_ch, col_ch, groups, g);
            else
              gemm_col2im<T>(gc.data<T>(), wc.data<T>(), nullptr, res[0].data<T>(), N, img_ch, col_ch, groups, g);
          }
          if (self.needs_grad(1)) {
            res[1] = empty(w_shape, w.dtype());
            const T* img = transposed ? gc.data<T>() : xc.data<T>();
            const T* cols = transposed ? xc.data<T>() : gc.data<T>();
            weight_grad<T>(img, cols, res[1].data<T>(), N, img_ch, col_ch, groups, g);
          }
          if (res.size() > 2 && self.needs_grad(2)) {
            int64_t C = gc.size(1);
            res[2] = empty({C}, gc.dtype());
            channel_sum<T>(gc.data<T>(), res[2].data<T>(), N, C, gc.numel() / std::max<int64_t>(N * C, 1));
          }
        });
        return res;
      },
      {{x, false}, {w, false}});
  return out;
}

// ---- argument checking (torch's messages) ---------------------------------------------------

std::string join_x(const int64_t* v, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += (i ? " x " : "") + std::to_string(v[i]);
  return s;
}

// A per-dim argument given as one value or one per spatial dim.
std::vector<int64_t> expand_param(const std::vector<int64_t>& v, int nd, const char* name) {
  if (static_cast<int>(v.size()) == nd) return v;
  if (v.size() == 1) return std::vector<int64_t>(nd, v[0]);
  throw Error(str_cat("expected ", name, " to be a single integer value or a list of ", nd,
                      " values to match the convolution dimensions, but got ", name, "=", shape_str(v)));
}

struct ConvArgs {
  std::vector<int64_t> stride, pad_before, pad_after, dilation, output_padding;
};

// The C++ type name torch prints for a dtype in some messages.
const char* c_type_name(DType t) {
  switch (t) {
    case DType::Float32: return "float";
    case DType::Float64: return "double";
    case DType::Int64: return "long int";
    case DType::Int32: return "int";
    case DType::Int16: return "short int";
    case DType::Int8: return "signed char";
    case DType::UInt8: return "unsigned char";
    case DType::Bool: return "bool";
  }
  return "unknown";
}

// Checks a convolution call as torch does and runs it; `x` may be unbatched.
Tensor convolution_checked(int nd, const char* fn, bool transposed, const Tensor& x_in, const Tensor& w,
                           const Tensor& b, const ConvArgs& a, int64_t groups) {
  const int64_t xdim = x_in.dim();
  if (xdim != nd + 1 && xdim != nd + 2)
    throw Error(str_cat("Expected ", nd + 1, "D (unbatched) or ", nd + 2, "D (batched) input to ", fn,
                        ", but got input of size: ", shape_str(x_in.sizes())));
  const bool batched = xdim == nd + 2;
  Tensor x = batched ? x_in : unsqueeze(x_in, 0);
  if (w.dim() != nd + 2)
    throw Error(str_cat("Expected ", nd + 2, "-dimensional input for ", w.dim(), "-dimensional weight ",
                        shape_str(w.sizes()), ", but got ", x.dim(), "-dimensional input of size ",
                        shape_str(x.sizes()), " instead"));
  for (int i = 0; i < nd; ++i) {
    EMBER_CHECK(a.pad_before[i] >= 0 && a.pad_after[i] >= 0, "negative padding is not supported");
  }
  for (int i = 0; i < nd && transposed; ++i)
    EMBER_CHECK(a.output_padding[i] >= 0, "negative output_padding is not supported");
  for (int i = 0; i < nd; ++i) EMBER_CHECK(a.stride[i] > 0, "non-positive stride is not supported");
  for (int i = 0; i < nd; ++i) EMBER_CHECK(a.dilation[i] > 0, "non-positive dilation is not supported");
  EMBER_CHECK(groups > 0, "non-positive groups is not supported");
  if (x.dtype() != w.dtype())
    throw Error(str_cat("Input type (ember.", legacy_type_name(x.dtype()), ") and weight type (ember.",
                        legacy_type_name(w.dtype()), ") should be the same"));
  if (b.defined() && b.dtype() != x.dtype())
    throw Error(str_cat("Input type (", c_type_name(x.dtype()), ") and bias type (", c_type_name(b.dtype()),
                        ") should be the same"));
  if (!is_floating(x.dtype()))
    throw NotImplementedError(str_cat("\"", fn, "\" not implemented for '", scalar_type_name(x.dtype()),
                                      "' (ember convolutions take float32 or float64)"));
  EMBER_CHECK(w.size(0) % groups == 0, "Given groups=", groups, ", expected weight to be divisible by ", groups,
              " at dimension 0, but got weight of size [", shape_str(w.sizes()), "] instead");
  const int64_t C = x.size(1);
  if (transposed) {
    EMBER_CHECK(C == w.size(0), "Given transposed=1, weight of size ", shape_str(w.sizes()), ", expected input",
                shape_str(x.sizes()), " to have ", w.size(0), " channels, but got ", C, " channels instead");
  } else {
    EMBER_CHECK(C == w.size(1) * groups, "Given groups=", groups, ", weight of size ", shape_str(w.sizes()),
                ", expected input", shape_str(x.sizes()), " to have ", w.size(1) * groups, " channels, but got ", C,
                " channels instead");
  }
  const int64_t out_ch = transposed ? w.size(1) * groups : w.size(0);
  if (b.defined() && (b.dim() != 1 || b.size(0) != out_ch))
    throw Error(str_cat(transposed ? "Given transposed=1, weight of size " : "Given weight of size ",
                        shape_str(w.sizes()), ", expected bias to be 1-dimensional with ", out_ch,
                        " elements, but got bias of size ", shape_str(b.sizes()), " instead"));
  ConvGeom g;
  g.nd = nd;
  int64_t in_sz[3], k_eff[3], padded[3], out_sz[3];
  bool too_small = false;
  for (int i = 0; i < nd; ++i) {
    const int j = 3 - nd + i;
    g.k[j] = w.size(2 + i);
    g.stride[j] = a.stride[i];
    g.dil[j] = a.dilation[i];
    g.pad[j] = a.pad_before[i];
    in_sz[i] = x.size(2 + i);
    k_eff[i] = a.dilation[i] * (g.k[j] - 1) + 1;
    padded[i] = in_sz[i] + a.pad_before[i] + a.pad_after[i];
    if (transposed) {
      out_sz[i] = (in_sz[i] - 1) * a.stride[i] - a.pad_before[i] - a.pad_after[i] + k_eff[i] + a.output_padding[i];
      g.col[j] = in_sz[i];
      g.img[j] = out_sz[i];
      too_small = too_small || out_sz[i] <= 0;
    } else {
      too_small = too_small || padded[i] < k_eff[i];
      out_sz[i] = padded[i] < k_eff[i] ? 0 : (padded[i] - k_eff[i]) / a.stride[i] + 1;
      g.img[j] = in_sz[i];
      g.col[j] = out_sz[i];
    }
  }
  if (transposed) {
    bool op_ok = true;
    for (int i = 0; i < nd; ++i)
      op_ok = op_ok && (a.output_padding[i] < a.stride[i] || a.output_padding[i] < a.dilation[i]);
    if (!op_ok) {
      static const char* names3[] = {"depth", "height", "width"};
      const char* const* names = names3 + 3 - std::max(nd, 2);
      const int shown = std::max(nd, 2);  // a 1-d call is reported as its 2-d equivalent
      auto field = [&](const char* what, const std::vector<int64_t>& v, int64_t pad_value) {
        std::string s;
        for (int i = 0; i < shown; ++i) {
          int src = i - (shown - nd);
          s += str_cat(" ", what, "_", names[i], ": ", src < 0 ? pad_value : v[src]);
        }
        return s;
      };
      throw Error(str_cat("output padding must be smaller than either stride or dilation, but got",
                          field("output_padding", a.output_padding, 0), field("stride", a.stride, 1),
                          field("dilation", a.dilation, 1)));
    }
    if (too_small)
      throw Error(str_cat("Given input size per channel: (", join_x(in_sz, nd), "). Calculated output size per channel: (",
                          join_x(out_sz, nd), "). Output size is too small"));
  } else if (too_small) {
    throw Error(str_cat("Calculated padded input size per channel: (", join_x(padded, nd), "). Kernel size: (",
                        join_x(k_eff, nd), "). Kernel size can't be greater than actual input size"));
  }
  Tensor out = conv_op(x, w, b, g, groups, transposed);
  return batched ? out : squeeze(out, 0);
}

ConvArgs conv_args(int nd, const std::vector<int64_t>& stride, const std::vector<int64_t>& padding,
                   const std::vector<int64_t>& dilation, const std::vector<int64_t>& output_padding = {0}) {
  ConvArgs a;
  a.stride = expand_param(stride, nd, "stride");
  a.pad_before = a.pad_after = expand_param(padding, nd, "padding");
  a.dilation = expand_param(dilation, nd, "dilation");
  a.output_padding = expand_param(output_padding, nd, "output_padding");
  return a;
}

Tensor conv_nd(int nd, const char* fn, const Tensor& x, const Tensor& w, const Tensor& b,
               const std::vector<int64_t>& stride, const std::vector<int64_t>& padding,
               const std::vector<int64_t>& dilation, int64_t groups) {
  return convolution_checked(nd, fn, false, x, w, b, conv_args(nd, stride, padding, dilation), groups);
}

Tensor conv_nd(int nd, const char* fn, const Tensor& x, const Tensor& w, const Tensor& b,
               const std::vector<int64_t>& stride, const std::string& padding, const std::vector<int64_t>& dilation,
               int64_t groups) {
  ConvArgs a = conv_args(nd, stride, {0}, dilation);
  if (padding == "same") {
    for (int i = 0; i < nd; ++i) EMBER_CHECK(a.stride[i] == 1, "padding='same' is not supported for strided convolutions");
    // torch: the total padding d * (k - 1) is split with the extra element after.
    for (int i = 0; i < nd && w.dim() == nd + 2; ++i) {
      int64_t total = a.dilation[i] * (w.size(2 + i) - 1);
      a.pad_before[i] = total / 2;
      a.pad_after[i] = total - total / 2;
    }
  } else if (padding != "valid") {
    throw Error(str_cat("Invalid padding string: '", padding, "'"));
  }
  return convolution_checked(nd, fn, false, x, w, b, a, groups);
}

Tensor conv_transpose_nd(int nd, const char* fn, const Tensor& x, const Tensor& w, const Tensor& b,
                         const std::vector<int64_t>& stride, const std::vector<int64_t>& padding,
                         const std::vector<int64_t>& output_padding, int64_t groups,
                         const std::vector<int64_t>& dilation) {
  return convolution_checked(nd, fn, true, x, w, b, conv_args(nd, stride, padding, dilation, output_padding), groups);
}

// Checks of unfold/fold's 2-d parameters, with torch's messages.
void check_fold_params(const std::vector<int64_t>& k, const std::vector<int64_t>& d, const std::vector<int64_t>& p,
                       const std::vector<int64_t>& s) {
  auto two = [](const std::vector<int64_t>& v, const char* name) {
    EMBER_CHECK(v.size() == 2, "It is expected ", name, " equals to 2, but got size ", v.size());
  };
  two(k, "kernel_size");
  two(d, "dilation");
  two(p, "padding");
  two(s, "stride");
  EMBER_CHECK(k[0] > 0 && k[1] > 0, "kernel size should be greater than zero, but got kernel_height: ", k[0],
              " kernel_width: ", k[1]);
  EMBER_CHECK(s[0] > 0 && s[1] > 0, "stride should be greater than zero, but got stride_height: ", s[0],
              " stride_width: ", s[1]);
  EMBER_CHECK(d[0] > 0 && d[1] > 0, "dilation should be greater than zero, but got dilation_height: ", d[0],
              " dilation_width: ", d[1]);
  EMBER_CHECK(p[0] >= 0 && p[1] >= 0, "padding should be non-negative, but got pad_height: ", p[0],
              " pad_width: ", p[1]);
}

// torch's count of sliding blocks along one dim (C integer division).
int64_t sliding_blocks(int64_t size, int64_t k, int64_t d, int64_t p, int64_t s) {
  return (size + 2 * p - (d * (k - 1) + 1)) / s + 1;
}

// The geometry of unfold/fold over an h x w image (parameters already checked).
ConvGeom fold_geom(int64_t h, int64_t w, const std::vector<int64_t>& k, const std::vector<int64_t>& d,
                   const std::vector<int64_t>& p, const std::vector<int64_t>& s) {
  ConvGeom g;
  g.nd = 2;
  g.img[1] = h;
  g.img[2] = w;
  for (int i = 0; i < 2; ++i) {
    g.k[1 + i] = k[i];
    g.dil[1 + i] = d[i];
    g.pad[1 + i] = p[i];
    g.stride[1 + i] = s[i];
    g.col[1 + i] = sliding_blocks(g.img[1 + i], k[i], d[i], p[i], s[i]);
  }
  return g;
}

}  // namespace

Tensor conv1d(const Tensor& x, const Tensor& w, const Tensor& b, const std::vector<int64_t>& stride,
              const std::vector<int64_t>& padding, const std::vector<int64_t>& dilation, int64_t groups) {
  return conv_nd(1, "conv1d", x, w, b, stride, padding, dilation, groups);
}
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const std::vector<int64_t>& stride,
              const std::vector<int64_t>& padding, const std::vector<int64_t>& dilation, int64_t groups) {
  return conv_nd(2, "conv2d", x, w, b, stride, padding, dilation, groups);
}
Tensor conv3d(const Tensor& x, const Tensor& w, const Tensor& b, const std::vector<int64_t>& stride,
              const std::vector<int64_t>& padding, const std::vector<int64_t>& dilation, int64_t groups) {
  return conv_nd(3, "conv3d", x, w, b, stride, padding, dilation, groups);
}
Tensor conv1d(const Tensor& x, const Tensor& w, const Tensor& b, const std::vector<int64_t>& stride,
              const std::string& padding, const std::vector<int64_t>& dilation, int64_t groups) {
  return conv_nd(1, "conv1d", x, w, b, stride, padding, dilation, groups);
}
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const std::vector<int64_t>& stride,
              const std::string& padding, const std::vector<int64_t>& dilation, int64_t groups) {
  return conv_nd(2, "conv2d", x, w, b, stride, padding, dilation, groups);
}
Tensor conv3d(const Tensor& x, const Tensor& w, const Tensor& b, const std::vector<int64_t>& stride,
              const std::string& padding, const std::vector<int64_t>& dilation, int64_t groups) {
  return conv_nd(3, "conv3d", x, w, b, stride, padding, dilation, groups);
}

Tensor conv_transpose1d(const Tensor& x, const Tensor& w, const Tensor& b, const std::vector<int64_t>& stride,
                        const std::vector<int64_t>& padding, const std::vector<int64_t>& output_padding,
                        int64_t groups, const std::vector<int64_t>& dilation) {
  return conv_transpose_nd(1, "conv_transpose1d", x, w, b, stride, padding, output_padding, groups, dilation);
}
Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, const std::vector<int64_t>& stride,
                        const std::vector<int64_t>& padding, const std::vector<int64_t>& output_padding,
                        int64_t groups, const std::vector<int64_t>& dilation) {
  return conv_transpose_nd(2, "conv_transpose2d", x, w, b, stride, padding, output_padding, groups, dilation);
}
Tensor conv_transpose3d(const Tensor& x, const Tensor& w, const Tensor& b, const std::vector<int64_t>& stride,
                        const std::vector<int64_t>& padding, const std::vector<int64_t>& output_padding,
                        int64_t groups, const std::vector<int64_t>& dilation) {
  return conv_transpose_nd(3, "conv_transpose3d", x, w, b, stride, padding, output_padding, groups, dilation);
}

Tensor im2col(const Tensor& x_in, const std::vector<int64_t>& kernel_size, const std::vector<int64_t>& dilation,
              const std::vector<int64_t>& padding, const std::vector<int64_t>& stride) {
  check_fold_params(kernel_size, dilation, padding, stride);
  const bool batched = x_in.dim() == 4;
  bool ok = x_in.dim() == 3 || x_in.dim() == 4;
  for (int64_t d = batched ? 1 : 0; ok && d < x_in.dim(); ++d) ok = x_in.size(d) != 0;
  EMBER_CHECK(ok, "Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other non-zero dimensions "
                  "for input, but got: ", shape_str(x_in.sizes()));
  Tensor x = batched ? x_in : unsqueeze(x_in, 0);
  const int64_t H = x.size(2), W = x.size(3);
  int64_t bh = sliding_blocks(H, kernel_size[0], dilation[0], padding[0], stride[0]);
  int64_t bw = sliding_blocks(W, kernel_size[1], dilation[1], padding[1], stride[1]);
  EMBER_CHECK(bh >= 1 && bw >= 1, "Given input with spatial size (", H, ", ", W, "), kernel_size=(", kernel_size[0],
              ", ", kernel_size[1], "), dilation=(", dilation[0], ", ", dilation[1], "), padding=(", padding[0], ", ",
              padding[1], "), calculated shape of the array of sliding blocks as (", bh, ", ", bw,
              "), but its components must be at least one.");
  if (!is_floating(x.dtype()))
    throw NotImplementedError(str_cat("\"im2col\" not implemented for '", scalar_type_name(x.dtype()), "'"));
  ConvGeom g = fold_geom(H, W, kernel_size, dilation, padding, stride);
  Tensor out = im2col_op(x, g);
  return batched ? out : squeeze(out, 0);
}

Tensor col2im(const Tensor& x_in, const std::vector<int64_t>& output_size, const std::vector<int64_t>& kernel_size,
              const std::vector<int64_t>& dilation, const std::vector<int64_t>& padding,
              const std::vector<int64_t>& stride) {
  EMBER_CHECK(output_size.size() == 2, "It is expected output_size equals to 2, but got size ", output_size.size());
  check_fold_params(kernel_size, dilation, padding, stride);
  const bool batched = x_in.dim() == 3;
  bool ok = x_in.dim() == 2 || x_in.dim() == 3;
  for (int64_t d = batched ? 1 : 0; ok && d < x_in.dim(); ++d) ok = x_in.size(d) != 0;
  EMBER_CHECK(ok, "Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and non-zero "
                  "dimensions for input, but got: ", shape_str(x_in.sizes()));
  Tensor x = batched ? x_in : unsqueeze(x_in, 0);
  const int64_t K = kernel_size[0] * kernel_size[1];
  EMBER_CHECK(x.size(1) % K == 0, "Expected size of input's dimension 1 to be divisible by the product of "
                                  "kernel_size, but got input.size(1)=", x.size(1), " and kernel_size=(",
              kernel_size[0], ", ", kernel_size[1], ").");
  int64_t bh = sliding_blocks(output_size[0], kernel_size[0], dilation[0], padding[0], stride[0]);
  int64_t bw = sliding_blocks(output_size[1], kernel_size[1], dilation[1], padding[1], stride[1]);
  EMBER_CHECK(bh >= 1 && bw >= 1 && x.size(2) == bh * bw, "Given output_size=(", output_size[0], ", ", output_size[1],
              "), kernel_size=(", kernel_size[0], ", ", kernel_size[1], "), dilation=(", dilation[0], ", ", dilation[1],
              "), padding=(", padding[0], ", ", padding[1], "), stride=(", stride[0], ", ", stride[1],
              "), expected size of input's dimension 2 to match the calculated number of sliding blocks ", bh, " * ",
              bw, " = ", bh * bw, ", but got input.size(2)=", x.size(2), ".");
  if (!is_floating(x.dtype()))
    throw NotImplementedError(str_cat("\"col2im\" not implemented for '", scalar_type_name(x.dtype()), "'"));
  ConvGeom g = fold_geom(output_size[0], output_size[1], kernel_size, dilation, padding, stride);
  Tensor out = col2im_op(x, g);
  return batched ? out : squeeze(out, 0);
}

}  // namespace ember
