// Recurrent layers and cells (RNN with tanh or relu, LSTM with an optional projection, GRU),
// forward and backward side by side. Gate order and formulas are torch's: LSTM i, f, g, o;
// GRU r, z, n with n = tanh(W_in x + b_in + r * (W_hn h + b_hn)).
//
// Memory layout. Every sequence is handled as packed data: the rows of an [N, features] matrix,
// step t owning rows off[t] .. off[t] + bs[t]. Sequences are sorted by length, longest first,
// so bs is non-increasing and the rows active at step t are always batch entries 0 .. bs[t].
// Padded (time-major) input is the special case bs[t] = B. The recurrent state of a layer and
// direction is a [B, H] buffer whose row b belongs to sequence b:
//   - the forward direction updates rows 0 .. bs[t] at step t, so a sequence that has ended
//     keeps its last state, which is its h_n;
//   - the reverse direction walks t = T-1 .. 0 and starts rows bs[t+1] .. bs[t] from h0 at the
//     step where their sequence ends (its own last step), finishing every row at t = 0.
//
// A padded batch_first output is the exception: its rows are in batch-first order (b * T + t),
// so that it is written, and its gradient read, in place (Steps::row).
//
// Forward, per layer and direction: the input of every step is projected (XG = X W_ih^T);
// then each step is one GEMM for the hidden projection (HG = h W_hh^T) and one fused pass over
// the gates, which also stores what backward needs (activated gates, previous states) in
// buffers preallocated for the whole sequence. Both weights are transposed once per call, so
// that the GEMMs read them in place. Backward walks the steps in the opposite order and
// produces the pre-activation gate gradients of all steps and the gradient of the layer input;
// the gradients of the weights are then each one GEMM over all steps. A whole multi-layer,
// bidirectional call is one autograd node; its backward is not differentiable again.
//
// Threads: a batch row's recurrence involves that row alone, and so does its input (the
// previous layer's output for that row), so with enough rows (batch_row_bounds) the whole
// stack is one parallel region: the threads share the weight transposes, then each runs its
// own range of rows through every layer, direction and step, projecting its rows' input step
// by step (backward: computing their input gradient step by step), with no synchronisation
// between steps or layers. Smaller batches run the steps on one thread, with the input
// projection as one GEMM and parallel products and gate passes. Either way every value is
// computed by the same operations in the same order: results do not depend on the threads.
#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <type_traits>
#include "../core/buffer.h"
#include "../core/dispatch.h"
#include "../core/parallel.h"
#include "ember/ops.h"
#include "linalg_kernels.h"

namespace ember {

namespace {

enum class Mode : int64_t { RnnTanh = 0, RnnRelu = 1, Lstm = 2, Gru = 3 };

int64_t gate_count(Mode m) { return m == Mode::Lstm ? 4 : m == Mode::Gru ? 3 : 1; }
const char* mode_name(Mode m) {
  switch (m) {
    case Mode::RnnTanh: return "RnnTanh";
    case Mode::RnnRelu: return "RnnRelu";
    case Mode::Lstm: return "Lstm";
    default: return "Gru";
  }
}


// In-place activations over a contiguous run, through Eigen's array expressions so that the
// transcendental functions vectorise (the gate passes are dominated by them).
template <typename T>
using ArrayMap = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <typename T> inline void sigmoid_inplace(T* p, int64_t n) {
  ArrayMap<T> a(p, n);
  a = T(1) / (T(1) + (-a).exp());
}
template <typename T> inline void tanh_inplace(T* p, int64_t n) {
  ArrayMap<T> a(p, n);
  a = a.tanh();
}

// Gate passes are parallel over batch rows once a step has this many gate elements.
constexpr int64_t kGateGrain = 4096;
template <typename F>
void for_rows(int64_t rows, int64_t width, const F& f) {
  parallel_for(0, rows, std::max<int64_t>(1, kGateGrain / std::max<int64_t>(width, 1)), f);
}

// Shapes of one call.
struct Spec {
  Mode mode;
  int64_t input_size = 0, H = 0, P = 0, Hout = 0, G = 0, L = 1, D = 1;
  bool bias = true;
  int64_t GH() const { return G * H; }
  int64_t layer_input(int64_t l) const { return l == 0 ? input_size : D * Hout; }
};

// The packed layout: bs[t] rows at off[t]; B = bs[0], N = total rows.
struct Steps {
  std::vector<int64_t> bs, off;
  int64_t B = 0, N = 0;
  int64_t T() const { return static_cast<int64_t>(bs.size()); }
  // The row of step t and batch entry b in an [N, features] matrix: off[t] + b, or b * T + t
  // for a padded batch_first output, which is written (and its gradient read) in place.
  int64_t row(int64_t t, int64_t b, bool batch_first) const { return batch_first ? b * T() + t : off[t] + b; }
};

Steps uniform_steps(int64_t T, int64_t B) {
  Steps s;
  s.B = B;
  for (int64_t t = 0; t < T; ++t) {
    s.bs.push_back(B);
    s.off.push_back(t * B);
  }
  s.N = T * B;
  return s;
}

// Weights of one layer and direction (contiguous; biases are zeros when the layer has none).
struct DirWeights {
  Tensor w_ih, w_hh, b_ih, b_hh, w_hr;
};

// What forward keeps of one layer and direction for backward:
//   gates  [N, G*H]: LSTM i f g o and GRU r z n (activated), then GRU W_hn h + b_hn; RNN h
//   h_prev [N, Hout]: the state each step started from
//   c_prev, tanh_c [N, H] (LSTM): previous cell state, tanh of the new one
//   r      [N, H] (projected LSTM): o * tanh(c) before the projection
struct DirCache {
  Tensor gates, h_prev, c_prev, tanh_c, r;
};

// ---- fused gate passes ---------------------------------------------------------------------
// One step of `rows` batch rows. xg, hg: the step's input and hidden projections (row stride
// GH, biases not yet added); h: the state rows (row stride Hout); c: the cell state rows.

template <typename T, typename Act>
void rnn_gates_forward(int64_t rows, int64_t H, const T* xg, const T* hg, const T* b_ih, const T* b_hh, T* h,
                       T* gates, const Act& act) {
  for_rows(rows, H, [&](int64_t rb, int64_t re) {
    for (int64_t b = rb; b < re; ++b)
      for (int64_t j = 0; j < H; ++j) {
        T v = act(xg[b * H + j] + b_ih[j] + hg[b * H + j] + b_hh[j]);
        h[b * H + j] = v;
        gates[b * H + j] = v;
      }
  });
}

// One row of the LSTM gate pass in a single sweep over the hidden units, with Eigen's packet
// functions (the ones its array expressions below use): float, H a multiple of the packet
// size. The general pass makes seven sweeps per row, through memory each time.
constexpr int64_t kFloatPacket = Eigen::internal::packet_traits<float>::size;

inline void lstm_row_packets(int64_t H, const float* x, const float* hh, const float* b_ih, const float* b_hh,
                             float* g, float* c, float* hout, float* c_prev, float* tanh_c) {
  using namespace Eigen::internal;
  using P = packet_traits<float>::type;
  constexpr int64_t W = kFloatPacket;
  const P one = pset1<P>(1.0f);
  auto sigmoid = [&](const P& v) { return pdiv(one, padd(one, pexp(pnegate(v)))); };
  for (int64_t j = 0; j < H; j += W) {
    auto pre = [&](int64_t k) {
      const int64_t at = k * H + j;
      return padd(padd(padd(ploadu<P>(x + at), ploadu<P>(b_ih + at)), ploadu<P>(hh + at)), ploadu<P>(b_hh + at));
    };
    const P ig = sigmoid(pre(0)), fg = sigmoid(pre(1)), gg = ptanh(pre(2)), og = sigmoid(pre(3));
    pstoreu(g + j, ig);
    pstoreu(g + H + j, fg);
    pstoreu(g + 2 * H + j, gg);
    pstoreu(g + 3 * H + j, og);
    const P cp = ploadu<P>(c + j), cn = padd(pmul(fg, cp), pmul(ig, gg)), tc = ptanh(cn);
    pstoreu(c_prev + j, cp);
    pstoreu(c + j, cn);
    pstoreu(tanh_c + j, tc);
    pstoreu(hout + j, pmul(og, tc));
  }
}

// hout: where o * tanh(c) goes (the state, or `r` before a projection), row stride ldh.
template <typename T>
void lstm_gates_forward(int64_t rows, int64_t H, const T* xg, const T* hg, const T* b_ih, const T* b_hh, T* c,
                        T* hout, int64_t ldh, T* gates, T* c_prev, T* tanh_c) {
  const int64_t GH = 4 * H;
  for_rows(rows, GH, [&](int64_t rb, int64_t re) {
    for (int64_t b = rb; b < re; ++b) {
      const T* x = xg + b * GH;
      const T* hh = hg + b * GH;
      T* g = gates + b * GH;
      if constexpr (std::is_same_v<T, float>) {
        if (H % kFloatPacket == 0) {
          lstm_row_packets(H, x, hh, b_ih, b_hh, g, c + b * H, hout + b * ldh, c_prev + b * H, tanh_c + b * H);
          continue;
        }
      }
      for (int64_t j = 0; j < GH; ++j) g[j] = x[j] + b_ih[j] + hh[j] + b_hh[j];
      sigmoid_inplace(g, 2 * H);  // i, f
      tanh_inplace(g + 2 * H, H);  // g
      sigmoid_inplace(g + 3 * H, H);  // o
      T* cr = c + b * H;
      T* tcr = tanh_c + b * H;
      T* cpr = c_prev + b * H;
      for (int64_t j = 0; j < H; ++j) {
        T cp = cr[j];
        T cn = g[H + j] * cp + g[j] * g[2 * H + j];
        cpr[j] = cp;
        cr[j] = cn;
        tcr[j] = cn;
      }
      tanh_inplace(tcr, H);
      T* ho = hout + b * ldh;
      for (int64_t j = 0; j < H; ++j) ho[j] = g[3 * H + j] * tcr[j];
    }
  });
}

// gates rows: r z n (3H) then W_hn h + b_hn (H), i.e. row stride 4H.
template <typename T>
void gru_gates_forward(int64_t rows, int64_t H, const T* xg, const T* hg, const T* b_ih, const T* b_hh, T* h,
                       T* gates) {
  const int64_t GH = 3 * H;
  for_rows(rows, GH, [&](int64_t rb, int64_t re) {
    for (int64_t b = rb; b < re; ++b) {
      const T* x = xg + b * GH;
      const T* hh = hg + b * GH;
      T* g = gates + b * 4 * H;
      for (int64_t j = 0; j < 2 * H; ++j) g[j] = x[j] + b_ih[j] + hh[j] + b_hh[j];
      sigmoid_inplace(g, 2 * H);  // r, z
      for (int64_t j = 0; j < H; ++j) {
        T hn = hh[2 * H + j] + b_hh[2 * H + j];
        g[3 * H + j] = hn;
        g[2 * H + j] = x[2 * H + j] + b_ih[2 * H + j] + g[j] * hn;
      }
      tanh_inplace(g + 2 * H, H);  // n
      T* hr = h + b * H;
      for (int64_t j = 0; j < H; ++j) hr[j] = (T(1) - g[H + j]) * g[2 * H + j] + g[H + j] * hr[j];
    }
  });
}

// Backward passes of one step. dh: gradient of the step's output state (row stride ldd);
// dg: pre-activation gradients of the input side (row stride GH); for GRU dgh is the hidden
// side's (its n part is scaled by r) and dh_direct receives z * dh, the part of the previous
// state's gradient that bypasses W_hh. dc holds the cell-state gradient and is updated in place.

template <typename T, typename ActGrad>
void rnn_gates_backward(int64_t rows, int64_t H, const T* dh, const T* gates, T* dg, const ActGrad& act_grad) {
  for_rows(rows, H, [&](int64_t rb, int64_t re) {
    for (int64_t i = rb * H; i < re * H; ++i) dg[i] = dh[i] * act_grad(gates[i]);
  });
}

template <typename T>
void lstm_gates_backward(int64_t rows, int64_t H, const T* dh, int64_t ldd, const T* gates, const T* c_prev,
                         const T* tanh_c, T* dc, T* dg) {
  const int64_t GH = 4 * H;
  for_rows(rows, GH, [&](int64_t rb, int64_t re) {
    for (int64_t b = rb; b < re; ++b) {
      const T* g = gates + b * GH;
      T* d = dg + b * GH;
      // The buffers never overlap: without the hint the many possible aliases keep GCC scalar.
#pragma GCC ivdep
      for (int64_t j = 0; j < H; ++j) {
        T ig = g[j], fg = g[H + j], gg = g[2 * H + j], og = g[3 * H + j];
        T tc = tanh_c[b * H + j], dhv = dh[b * ldd + j];
        T dct = dc[b * H + j] + dhv * og * (T(1) - tc * tc);
        d[j] = dct * gg * ig * (T(1) - ig);
        d[H + j] = dct * c_prev[b * H + j] * fg * (T(1) - fg);
        d[2 * H + j] = dct * ig * (T(1) - gg * gg);
        d[3 * H + j] = dhv * tc * og * (T(1) - og);
        dc[b * H + j] = dct * fg;
      }
    }
  });
}

template <typename T>
void gru_gates_backward(int64_t rows, int64_t H, const T* dh, const T* gates, const T* h_prev, T* dg, T* dgh,
                        T* dh_direct) {
  const int64_t GH = 3 * H;
  for_rows(rows, GH, [&](int64_t rb, int64_t re) {
    for (int64_t b = rb; b < re; ++b) {
      const T* g = gates + b * 4 * H;
      T* d = dg + b * GH;
      T* dhh = dgh + b * GH;
#pragma GCC ivdep
      for (int64_t j = 0; j < H; ++j) {
        T rg = g[j], zg = g[H + j], ng = g[2 * H + j], hn = g[3 * H + j];
        T dhv = dh[b * H + j];
        T dn = dhv * (T(1) - zg) * (T(1) - ng * ng);
        T dz = dhv * (h_prev[b * H + j] - ng) * zg * (T(1) - zg);
        T dr = dn * hn * rg * (T(1) - rg);
        d[j] = dhh[j] = dr;
        d[H + j] = dhh[H + j] = dz;
        d[2 * H + j] = dn;
        dhh[2 * H + j] = dn * rg;
        dh_direct[b * H + j] = dhv * zg;
      }
    }
  });
}

// ---- one layer, one direction ----------------------------------------------------------------

// out[rows, m] (row stride ldo) = a[rows, k] @ w^T with w [m, k] contiguous (+= when beta is 1).
template <typename T>
void gemm_nt(const T* a, int64_t lda, const T* w, T* out, int64_t ldo, int64_t rows, int64_t k, int64_t m, T beta) {
  gemm<T>(a, lda, 1, w, 1, k, out, ldo, rows, k, m, T(1), beta);
}
// out[rows, m] = a[rows, k] @ w with w [k, m] contiguous.
template <typename T>
void gemm_nn(const T* a, int64_t lda, const T* w, T* out, int64_t ldo, int64_t rows, int64_t k, int64_t m, T beta) {
  gemm<T>(a, lda, 1, w, m, 1, out, ldo, rows, k, m, T(1), beta);
}
// out[m, k] (+)= a[N, m]^T @ b[N, k]: a weight gradient summed over all steps.
template <typename T>
void gemm_tn(const T* a, int64_t lda, const T* b, int64_t ldb, T* out, int64_t N, int64_t m, int64_t k, T beta) {
  gemm<T>(a, 1, lda, b, ldb, 1, out, k, m, N, k, T(1), beta);
}
// out[j] (+)= sum over rows of a[:, j], rows in order (deterministic), columns over the threads.
template <typename T>
void column_sums(const T* a, int64_t rows, int64_t cols, T* out, bool accumulate) {
  parallel_for(0, cols, std::max<int64_t>(16, kGrainSize / std::max<int64_t>(rows, 1)), [&](int64_t j0, int64_t j1) {
    if (!accumulate) std::fill(out + j0, out + j1, T(0));
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = j0; j < j1; ++j) out[j] += a[i * cols + j];
  });
}

// Row stride for a matrix of `cols` columns that a GEMM reads in place, row after row: one cache
// line more than the row, because at a power-of-two stride (4H floats, say) successive rows
// all land in the same few L1 sets and evict each other.
template <typename T>
int64_t padded_stride(int64_t cols) {
  return cols + 64 / static_cast<int64_t>(sizeof(T));
}

// dst [cols, rows] (row stride ldd) = src [rows, cols]^T for src's row tiles [tile0, tile1) of
// kTransposeTile rows (src contiguous). Whole blocks of W x W values (W: the SIMD packet width)
// are transposed in registers; a scalar loop writes (or reads) one value per cache line and
// does not vectorise, which made the transposes a tenth of an LSTM forward.
constexpr int64_t kTransposeTile = 16;  // a multiple of every packet width
int64_t transpose_tile_count(int64_t rows) { return (rows + kTransposeTile - 1) / kTransposeTile; }
template <typename T>
void transpose_tiles(const T* src, int64_t rows, int64_t cols, T* dst, int64_t ldd, int64_t tile0, int64_t tile1) {
  using namespace Eigen::internal;
  using P = typename packet_traits<T>::type;
  constexpr int64_t W = unpacket_traits<P>::size;
  const int64_t row_end = std::min(rows, tile1 * kTransposeTile);
  for (int64_t r0 = tile0 * kTransposeTile; r0 < row_end; r0 += W) {
    int64_t c0 = 0;
    if (r0 + W <= rows)
      for (; c0 + W <= cols; c0 += W) {
        PacketBlock<P, W> block;
        for (int64_t i = 0; i < W; ++i) block.packet[i] = ploadu<P>(src + (r0 + i) * cols + c0);
        ptranspose(block);
        for (int64_t i = 0; i < W; ++i) pstoreu(dst + (c0 + i) * ldd + r0, block.packet[i]);
      }
    for (int64_t c = c0; c < cols; ++c)  // the last columns, and the rows of a short block
      for (int64_t r = r0; r < std::min(rows, r0 + W); ++r) dst[c * ldd + r] = src[r * cols + c];
  }
}

template <typename T>
bool all_zero(const T* p, int64_t n) {
  bool nonzero = false;
  for (int64_t i = 0; i < n; ++i) nonzero |= p[i] != T(0);
  return !nonzero;
}
// Whether no value is an inf or NaN: the largest exponent field (bits past the sign, taken as
// unsigned integers so that the reduction vectorises) must be below all ones.
template <typename T>
bool all_finite(const T* p, int64_t n) {
  using Bits = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
  constexpr Bits kMagnitude = ~Bits(0) >> 1, kExponent = sizeof(T) == 4 ? Bits(0x7f800000u) : Bits(0x7ff0000000000000ull);
  Bits largest = 0;
  for (int64_t i = 0; i < n; ++i) {
    Bits b;
    std::memcpy(&b, p + i, sizeof(T));
    largest = std::max<Bits>(largest, b & kMagnitude);
  }
  return largest < kExponent;
}

// Ranges of batch rows, bounds[p] .. bounds[p + 1], for threads that each run their own rows
// through every step with no synchronisation between steps: only when each thread gets enough
// rows for its per-step products to run well (a fork and join per step and per op cost more
// than the products of a small batch); otherwise the one range {0, B}, whose steps then run on
// one thread with parallel products and gate passes. The ranges carry equal numbers of
// row-steps (packed sequences are sorted longest first, so the first rows run longest). Rows
// are independent, and so are the GEMMs' rows at a step's product widths (a split needs
// gemm_rows_independent): any split gives the same bits.
template <typename T>
std::vector<int64_t> batch_row_bounds(const Spec& sp, const Steps& st) {
  constexpr int64_t kMinRows = 8, kMinWork = int64_t(1) << 15;
  const int64_t B = st.B, parts = std::min<int64_t>(get_num_threads(), B / kMinRows);
  const bool rows_independent = gemm_rows_independent<T>(sp.GH()) && gemm_rows_independent<T>(sp.H) &&
                                gemm_rows_independent<T>(sp.Hout);
  if (parts < 2 || sp.GH() * sp.Hout < kMinWork || !rows_independent || in_parallel_region()) return {0, B};
  // Row b is active at the steps whose batch size exceeds b; row_steps[b]: row-steps of rows < b.
  std::vector<int64_t> with_size(static_cast<size_t>(B) + 1, 0), row_steps(static_cast<size_t>(B) + 1, 0);
  for (int64_t bs : st.bs) with_size[bs] += 1;
  std::vector<int64_t> steps_of_row(static_cast<size_t>(B));
  for (int64_t b = B - 1, longer = 0; b >= 0; --b) steps_of_row[b] = longer += with_size[b + 1];
  for (int64_t b = 0; b < B; ++b) row_steps[b + 1] = row_steps[b] + steps_of_row[b];
  std::vector<int64_t> bounds(static_cast<size_t>(parts) + 1, B);
  bounds[0] = 0;
  for (int64_t p = 1, b = 0; p < parts; ++p) {
    while (b < B && row_steps[b] * parts < row_steps[B] * p) ++b;  // the first b past p / parts of the work
    bounds[p] = b;
  }
  return bounds;
}

// f(off, rows) for each step (in order) at which rows of batch range [r0, r1) are active: they
// are rows off .. off + rows of the packed layout.
template <typename F>
void for_range_steps(const Steps& st, int64_t r0, int64_t r1, const F& f) {
  for (int64_t t = 0; t < st.T(); ++t) {
    const int64_t rows = std::min(st.bs[t], r1) - r0;
    if (rows > 0) f(st.off[t] + r0, rows);
  }
}

// v *= m over the rows of batch range [r0, r1) at every step, in [N, width] matrices: a dropout
// mask on a layer's input, forward, and on its gradient, backward.
template <typename T>
void multiply_rows(const Steps& st, int64_t r0, int64_t r1, T* v, const T* m, int64_t width) {
  for_range_steps(st, r0, r1, [&](int64_t off, int64_t rows) {
    for (int64_t i = off * width; i < (off + rows) * width; ++i) v[i] *= m[i];
  });
}

// One direction of one layer, forward, over X [N, I]. Writes its outputs into columns of out
// (row stride ldo; rows in batch-first order with out_batch_first) and its final states into
// h_n [B, Hout] / c_n [B, H]. Buffers are set up on construction; then the weights are
// transposed (transpose_weights over all of [0, tiles()), in any pieces), and run_rows takes
// ranges of batch rows through every step. With rows_split, run_rows projects its rows' input
// step by step, so that threads running separate ranges never wait for each other; otherwise
// project_input first projects all steps as one (parallel) GEMM.
template <typename T>
class DirForward {
 public:
  DirForward(const Spec& sp, const Steps& st, bool reverse, const T* X, int64_t I, const DirWeights& w, const T* h0,
             const T* c0, T* out, int64_t ldo, bool out_batch_first, T* h_n, T* c_n, DirCache& cache, bool rows_split)
      : sp_(sp), st_(st), reverse_(reverse), rows_split_(rows_split), out_batch_first_(out_batch_first), X_(X), I_(I),
        w_(w), h0_(h0), c0_(c0), out_(out), ldo_(ldo), h_(h_n), c_(c_n), cache_(cache) {
    const int64_t H = sp.H, Hout = sp.Hout, GH = sp.GH(), N = st.N, B = st.B;
    const DType dt = w.w_ih.dtype();
    cache.gates = empty({N, sp.mode == Mode::Gru ? 4 * H : GH}, dt);
    cache.h_prev = empty({N, Hout}, dt);
    if (sp.mode == Mode::Lstm) {
      cache.c_prev = empty({N, H}, dt);
      cache.tanh_c = empty({N, H}, dt);
    }
    if (sp.P > 0) cache.r = empty({N, H}, dt);
    // Scratch that is fully written before it is read: left uninitialised (no memset per call).
    xg_ = buffer<T>((rows_split ? B : N) * GH);
    hg_ = buffer<T>(B * GH);
    // W_hh^T [Hout, GH] (and, for the per-step input projections of a row split, W_ih^T
    // [I, GH]), row-major, once per call: the GEMMs then read them in place instead of
    // repacking the transposed weights at every step.
    ld_ = padded_stride<T>(GH);
    if (rows_split) w_ih_t_ = buffer<T>(I * ld_);
    w_hh_t_ = buffer<T>(Hout * ld_);
    // A zero initial state (no hx given: the usual case) makes the first step's hidden product
    // zero, so it is not computed; unless W_hh holds an inf or NaN, whose product with 0 is NaN
    // (checked as W_hh is transposed, while its rows are in cache).
    const int64_t steps = st.T();
    zero_h0_ = steps > 0 && all_zero(h0, st.bs[reverse ? steps - 1 : 0] * Hout);
  }

  // W_ih's tiles (only with rows_split), then W_hh's.
  int64_t tiles() const { return (rows_split_ ? 2 : 1) * transpose_tile_count(sp_.GH()); }
  void transpose_weights(int64_t tile0, int64_t tile1) {
    const int64_t GH = sp_.GH(), per = rows_split_ ? transpose_tile_count(GH) : 0;
    transpose_tiles<T>(w_.w_ih.data<T>(), GH, I_, w_ih_t_.get(), ld_, std::min(tile0, per), std::min(tile1, per));
    const int64_t hh0 = std::max(tile0 - per, int64_t(0)), hh1 = std::max(tile1 - per, int64_t(0));
    transpose_tiles<T>(w_.w_hh.data<T>(), GH, sp_.Hout, w_hh_t_.get(), ld_, hh0, hh1);
    const int64_t row0 = std::min(GH, hh0 * kTransposeTile), row1 = std::min(GH, hh1 * kTransposeTile);
    if (zero_h0_ && !all_finite(w_.w_hh.data<T>() + row0 * sp_.Hout, (row1 - row0) * sp_.Hout))
      w_hh_nonfinite_.store(true, std::memory_order_relaxed);
  }

  // One GEMM for every step's input; it packs W_ih itself, once per thread (bitwise the same
  // products as from the transposed copy).
  void project_input() { gemm_nt<T>(X_, I_, w_.w_ih.data<T>(), xg_.get(), sp_.GH(), st_.N, I_, sp_.GH(), T(0)); }

  // The recurrence of batch rows [r0, r1), every step. Each row's state depends on that row
  // alone (the products and gates are row by row), so row ranges are independent.
  void run_rows(int64_t r0, int64_t r1) {
    const Spec& sp = sp_;
    const Steps& st = st_;
    const int64_t H = sp.H, Hout = sp.Hout, GH = sp.GH(), I = I_;
    const bool lstm = sp.mode == Mode::Lstm, proj = sp.P > 0;
    const T *b_ih = w_.b_ih.data<T>(), *b_hh = w_.b_hh.data<T>();
    T *gates = cache_.gates.data<T>(), *h_prev = cache_.h_prev.data<T>();
    T* h = h_;  // the state buffer ends as h_n
    T* c = c_;
    const int64_t steps = st.T();
    const bool zero_start = zero_h0_ && !w_hh_nonfinite_.load(std::memory_order_relaxed);
    if (!reverse_) {
      std::memcpy(h + r0 * Hout, h0_ + r0 * Hout, sizeof(T) * (r1 - r0) * Hout);
      if (lstm) std::memcpy(c + r0 * H, c0_ + r0 * H, sizeof(T) * (r1 - r0) * H);
    }
    for (int64_t k = 0; k < steps; ++k) {
      const int64_t t = reverse_ ? steps - 1 - k : k, off = st.off[t] + r0;
      const int64_t rows = std::min(st.bs[t], r1) - r0;  // active rows of this range
      if (rows <= 0) continue;
      if (reverse_) {  // sequences whose last step is t start here
        const int64_t started = std::max(t + 1 < steps ? st.bs[t + 1] : 0, r0), n = r0 + rows - started;
        if (n > 0) {
          std::memcpy(h + started * Hout, h0_ + started * Hout, sizeof(T) * n * Hout);
          if (lstm) std::memcpy(c + started * H, c0_ + started * H, sizeof(T) * n * H);
        }
      }
      T* hr = h + r0 * Hout;
      T* hgr = hg_.get() + r0 * GH;
      std::memcpy(h_prev + off * Hout, hr, sizeof(T) * rows * Hout);
      if (k == 0 && zero_start)
        std::fill(hgr, hgr + rows * GH, T(0));
      else
        gemm<T>(hr, Hout, 1, w_hh_t_.get(), ld_, 1, hgr, GH, rows, Hout, GH, T(1), T(0));
      const T* x = xg_.get() + off * GH;
      if (rows_split_) {  // this step's input projection, for these rows only
        T* xr = xg_.get() + r0 * GH;
        gemm<T>(X_ + off * I, I, 1, w_ih_t_.get(), ld_, 1, xr, GH, rows, I, GH, T(1), T(0));
        x = xr;
      }
      switch (sp.mode) {
        case Mode::RnnTanh:
          rnn_gates_forward<T>(rows, H, x, hgr, b_ih, b_hh, hr, gates + off * H, [](T v) { return std::tanh(v); });
          break;
        case Mode::RnnRelu:
          rnn_gates_forward<T>(rows, H, x, hgr, b_ih, b_hh, hr, gates + off * H,
                               [](T v) { return v > T(0) || v != v ? v : T(0); });  // NaN stays NaN, as torch.relu
          break;
        case Mode::Lstm:
          if (proj) {
            T* r = cache_.r.data<T>() + off * H;
            lstm_gates_forward<T>(rows, H, x, hgr, b_ih, b_hh, c + r0 * H, r, H, gates + off * GH,
                                  cache_.c_prev.data<T>() + off * H, cache_.tanh_c.data<T>() + off * H);
            gemm_nt<T>(r, H, w_.w_hr.data<T>(), hr, Hout, rows, H, Hout, T(0));
          } else {
            lstm_gates_forward<T>(rows, H, x, hgr, b_ih, b_hh, c + r0 * H, hr, H, gates + off * GH,
                                  cache_.c_prev.data<T>() + off * H, cache_.tanh_c.data<T>() + off * H);
          }
          break;
        case Mode::Gru:
          gru_gates_forward<T>(rows, H, x, hgr, b_ih, b_hh, hr, gates + off * 4 * H);
          break;
      }
      for (int64_t b = 0; b < rows; ++b)
        std::memcpy(out_ + st.row(t, r0 + b, out_batch_first_) * ldo_, hr + b * Hout, sizeof(T) * Hout);
    }
  }

 private:
  const Spec& sp_;
  const Steps& st_;
  const bool reverse_, rows_split_, out_batch_first_;
  const T* X_;
  const int64_t I_;
  const DirWeights& w_;
  const T *h0_, *c0_;
  T* out_;
  const int64_t ldo_;
  T *h_, *c_;
  DirCache& cache_;
  int64_t ld_ = 0;  // row stride of the transposed weights
  Buffer<T> xg_, hg_, w_ih_t_, w_hh_t_;
  bool zero_h0_ = false;  // the initial state of the first step's rows is all zeros
  std::atomic<bool> w_hh_nonfinite_{false};  // set by transpose_weights
};

// Gradients of one direction of one layer. dout: gradient of its output columns (row stride
// ldo; rows in batch-first order with dout_batch_first); dh / dc: gradients of h_n / c_n on
// entry, of h0 / c0 on return. Writes the weight gradients (dw: same layout as DirWeights) and
// dX [N, I] (adds to it when accumulate_dx). Buffers are set up on construction; then W_hh is
// copied (copy_weights over all of [0, tiles()), in any pieces), run_rows takes ranges of
// batch rows back through every step, and finish() computes the weight gradients, which sum
// over all rows. With rows_split, run_rows also computes its rows' dX step by step (where the
// GEMM's rows are independent at width I), so that threads running separate ranges need not
// wait for each other; otherwise finish() computes dX as one (parallel) GEMM.
template <typename T>
class DirBackward {
 public:
  DirBackward(const Spec& sp, const Steps& st, bool reverse, const T* X, int64_t I, const DirWeights& w,
              const DirCache& cache, const T* dout, int64_t ldo, bool dout_batch_first, T* dh, T* dc, DirWeights& dw,
              T* dX, bool accumulate_dx, bool rows_split)
      : sp_(sp), st_(st), reverse_(reverse), accumulate_dx_(accumulate_dx), dout_batch_first_(dout_batch_first),
        X_(X), I_(I),
        w_(w), cache_(cache), dout_(dout), ldo_(ldo), dh_(dh), dc_(dc), dw_(dw), dX_(dX),
        dx_per_step_(rows_split && dX && gemm_rows_independent<T>(I)) {
    const int64_t H = sp.H, Hout = sp.Hout, GH = sp.GH(), N = st.N, B = st.B;
    const bool gru = sp.mode == Mode::Gru, proj = sp.P > 0;
    // Every row of dg (and dgh) is written by its step's gate pass: no zero fill.
    dg_ = buffer<T>(N * GH);
    if (gru) dgh_ = buffer<T>(N * GH);
    dht_ = buffer<T>(B * Hout);
    if (proj) {
      dr_ = buffer<T>(B * H);
      dhp_ = buffer<T>(N * Hout);  // projected-state gradients, all steps
    }
    // W_hh [GH, Hout] with padded rows for the per-step GEMM, which reads it in place.
    ld_hh_ = padded_stride<T>(Hout);
    w_hh_ = buffer<T>(GH * ld_hh_);
  }

  int64_t tiles() const { return transpose_tile_count(sp_.GH()); }
  void copy_weights(int64_t tile0, int64_t tile1) {
    const int64_t GH = sp_.GH(), Hout = sp_.Hout;
    const T* src = w_.w_hh.data<T>();
    for (int64_t r = tile0 * kTransposeTile; r < std::min(GH, tile1 * kTransposeTile); ++r)
      std::copy(src + r * Hout, src + (r + 1) * Hout, w_hh_.get() + r * ld_hh_);
  }

  // Batch rows [r0, r1) back through every step (row ranges are independent, as in forward).
  void run_rows(int64_t r0, int64_t r1) {
    const Spec& sp = sp_;
    const Steps& st = st_;
    const int64_t H = sp.H, Hout = sp.Hout, GH = sp.GH(), I = I_;
    const bool gru = sp.mode == Mode::Gru, proj = sp.P > 0;
    T* dgh = gru ? dgh_.get() : dg_.get();
    const T* gates = cache_.gates.data<T>();
    const T* h_prev = cache_.h_prev.data<T>();
    const int64_t steps = st.T();
    T* dhr = dh_ + r0 * Hout;
    T* dhtr = dht_.get() + r0 * Hout;
    for (int64_t k = 0; k < steps; ++k) {
      const int64_t t = reverse_ ? k : steps - 1 - k, off = st.off[t] + r0;
      const int64_t rows = std::min(st.bs[t], r1) - r0;  // active rows of this range
      if (rows <= 0) continue;
      for (int64_t b = 0; b < rows; ++b) {
        const T* dout_row = dout_ + st.row(t, r0 + b, dout_batch_first_) * ldo_;
        for (int64_t j = 0; j < Hout; ++j) dhtr[b * Hout + j] = dhr[b * Hout + j] + dout_row[j];
      }
      T* dgs = dg_.get() + off * GH;
      switch (sp.mode) {
        case Mode::RnnTanh:
          rnn_gates_backward<T>(rows, H, dhtr, gates + off * H, dgs, [](T y) { return T(1) - y * y; });
          break;
        case Mode::RnnRelu:
          rnn_gates_backward<T>(rows, H, dhtr, gates + off * H, dgs, [](T y) { return y > T(0) ? T(1) : T(0); });
          break;
        case Mode::Lstm:
          if (proj) {
            std::memcpy(dhp_.get() + off * Hout, dhtr, sizeof(T) * rows * Hout);
            gemm_nn<T>(dhtr, Hout, w_.w_hr.data<T>(), dr_.get() + r0 * H, H, rows, Hout, H, T(0));
          }
          lstm_gates_backward<T>(rows, H, proj ? dr_.get() + r0 * H : dhtr, H, gates + off * GH,
                                 cache_.c_prev.data<T>() + off * H, cache_.tanh_c.data<T>() + off * H, dc_ + r0 * H,
                                 dgs);
          break;
        case Mode::Gru:
          gru_gates_backward<T>(rows, H, dhtr, gates + off * 4 * H, h_prev + off * H, dgs, dgh + off * GH, dhr);
          break;
      }
      gemm<T>(dgh + off * GH, GH, 1, w_hh_.get(), ld_hh_, 1, dhr, Hout, rows, GH, Hout, T(1), gru ? T(1) : T(0));
      if (dx_per_step_)  // this step's input gradient, for these rows only
        gemm_nn<T>(dgs, GH, w_.w_ih.data<T>(), dX_ + off * I, I, rows, GH, I, accumulate_dx_ ? T(1) : T(0));
    }
  }

  void finish() {
    const Spec& sp = sp_;
    const int64_t Hout = sp.Hout, H = sp.H, GH = sp.GH(), N = st_.N, I = I_;
    const bool gru = sp.mode == Mode::Gru;
    const T* dgh = gru ? dgh_.get() : dg_.get();
    gemm_tn<T>(dg_.get(), GH, X_, I, dw_.w_ih.data<T>(), N, GH, I, T(0));
    gemm_tn<T>(dgh, GH, cache_.h_prev.data<T>(), Hout, dw_.w_hh.data<T>(), N, GH, Hout, T(0));
    if (sp.bias) {
      column_sums<T>(dg_.get(), N, GH, dw_.b_ih.data<T>(), false);
      if (gru)
        column_sums<T>(dgh, N, GH, dw_.b_hh.data<T>(), false);
      else  // both biases enter the same pre-activations: equal gradients
        std::copy(dw_.b_ih.data<T>(), dw_.b_ih.data<T>() + GH, dw_.b_hh.data<T>());
    }
    if (sp.P > 0) gemm_tn<T>(dhp_.get(), Hout, cache_.r.data<T>(), H, dw_.w_hr.data<T>(), N, Hout, H, T(0));
    if (dX_ && !dx_per_step_)
      gemm_nn<T>(dg_.get(), GH, w_.w_ih.data<T>(), dX_, I, N, GH, I, accumulate_dx_ ? T(1) : T(0));
  }

 private:
  const Spec& sp_;
  const Steps& st_;
  const bool reverse_, accumulate_dx_, dout_batch_first_;
  const T* X_;
  const int64_t I_;
  const DirWeights& w_;
  const DirCache& cache_;
  const T* dout_;
  const int64_t ldo_;
  T *dh_, *dc_;
  DirWeights& dw_;
  T* dX_;
  const bool dx_per_step_;
  int64_t ld_hh_ = 0;
  Buffer<T> dg_, dgh_, dht_, dr_, dhp_, w_hh_;
};

// ---- the whole call ------------------------------------------------------------------------

// Parameters per layer and direction in torch's order: w_ih, w_hh, [b_ih, b_hh], [w_hr].
int64_t params_per_dir(const Spec& sp) { return 2 + (sp.bias ? 2 : 0) + (sp.P > 0 ? 1 : 0); }

std::vector<DirWeights> unpack_weights(const Spec& sp, const std::vector<Tensor>& params) {
  std::vector<DirWeights> ws;
  const int64_t per = params_per_dir(sp);
  for (int64_t ld = 0; ld < sp.L * sp.D; ++ld) {
    const Tensor* p = params.data() + ld * per;
    DirWeights w;
    w.w_ih = contiguous(detach(p[0]));
    w.w_hh = contiguous(detach(p[1]));
    if (sp.bias) {
      w.b_ih = contiguous(detach(p[2]));
      w.b_hh = contiguous(detach(p[3]));
    } else {
      w.b_ih = w.b_hh = zeros({sp.GH()}, p[0].dtype());
    }
    if (sp.P > 0) w.w_hr = contiguous(detach(p[per - 1]));
    ws.push_back(std::move(w));
  }
  return ws;
}

void check_param(const Tensor& p, const Shape& expected, DType dtype, const char* what, int64_t layer) {
  EMBER_CHECK(p.defined(), "rnn: ", what, " of layer ", layer, " is missing");
  EMBER_CHECK(p.sizes() == expected, "rnn: ", what, " of layer ", layer, " has shape ", shape_str(p.sizes()),
              ", expected ", shape_str(expected));
  EMBER_CHECK(p.dtype() == dtype, "rnn: ", what, " of layer ", layer, " has dtype ", dtype_name(p.dtype()),
              " but the input has dtype ", dtype_name(dtype));
}

void check_params(const Spec& sp, const std::vector<Tensor>& params, DType dtype) {
  const int64_t per = params_per_dir(sp);
  EMBER_CHECK(static_cast<int64_t>(params.size()) == per * sp.L * sp.D, "rnn: expected ", per * sp.L * sp.D,
              " parameter tensors, got ", params.size());
  for (int64_t l = 0; l < sp.L; ++l)
    for (int64_t d = 0; d < sp.D; ++d) {
      const Tensor* p = params.data() + (l * sp.D + d) * per;
      check_param(p[0], {sp.GH(), sp.layer_input(l)}, dtype, "weight_ih", l);
      check_param(p[1], {sp.GH(), sp.Hout}, dtype, "weight_hh", l);
      if (sp.bias) {
        check_param(p[2], {sp.GH()}, dtype, "bias_ih", l);
        check_param(p[3], {sp.GH()}, dtype, "bias_hh", l);
      }
      if (sp.P > 0) check_param(p[per - 1], {sp.P, sp.H}, dtype, "weight_hr", l);
    }
}

void check_state(const Tensor& s, const Shape& expected, DType dtype, const char* what) {
  EMBER_CHECK(s.sizes() == expected, "Expected ", what, " size ", shape_str(expected), ", got ", shape_str(s.sizes()));
  EMBER_CHECK(s.dtype() == dtype, "rnn: ", what, " has dtype ", dtype_name(s.dtype()), " but the input has dtype ",
              dtype_name(dtype));
}

// Everything forward keeps for backward.
struct Saved {
  Spec sp;
  Steps st;
  bool batch_first = false, packed = false;
  std::vector<Tensor> layer_input;  // [N, I_l] per layer, after dropout
  std::vector<Tensor> dropout_mask; // [N, D*Hout] per layer > 0 (undefined without dropout)
  std::vector<DirCache> cache;      // per layer and direction
  std::vector<DirWeights> weights;
};

// out, h_n, c_n of the whole stack; `x` is [N, I] time-major/packed and contiguous. With enough
// batch rows for several threads, the whole stack is one parallel region: the threads share
// the weight transposes, then each takes its range of rows through every layer and direction
// (a row's outputs are the next layer's input for that row alone), without waiting again.
template <typename T>
void stack_forward(Saved& s, const Tensor& x, const Tensor& hx, const Tensor& cx, Tensor& out, Tensor& h_n,
                   Tensor& c_n, double dropout, bool train, Generator* gen) {
  const Spec& sp = s.sp;
  const Steps& st = s.st;
  const int64_t N = st.N, B = st.B, Hout = sp.Hout, H = sp.H, D = sp.D;
  const bool lstm = sp.mode == Mode::Lstm;
  const std::vector<int64_t> bounds = batch_row_bounds<T>(sp, st);
  const int64_t parts = static_cast<int64_t>(bounds.size()) - 1;
  // Every layer's buffers and dropout mask up front (the masks drawn in layer order).
  std::vector<std::unique_ptr<DirForward<T>>> dirs;
  Tensor layer_in = x;
  for (int64_t l = 0; l < sp.L; ++l) {
    if (l > 0 && dropout > 0 && train) {
      Tensor mask = empty({N, D * Hout}, x.dtype());
      bernoulli_(mask, 1.0 - dropout, gen);
      T scale = dropout < 1.0 ? static_cast<T>(1.0 / (1.0 - dropout)) : T(0);
      T* m = mask.data<T>();
      for (int64_t i = 0; i < N * D * Hout; ++i) m[i] *= scale;
      s.dropout_mask[l] = mask;
    }
    s.layer_input[l] = layer_in;
    Tensor layer_out = l + 1 == sp.L ? out : empty({N, D * Hout}, x.dtype());
    for (int64_t d = 0; d < D; ++d) {
      const int64_t ld = l * D + d;
      dirs.push_back(std::make_unique<DirForward<T>>(
          sp, st, d == 1, layer_in.data<T>(), sp.layer_input(l), s.weights[ld], hx.data<T>() + ld * B * Hout,
          lstm ? cx.data<T>() + ld * B * H : nullptr, layer_out.data<T>() + d * Hout, D * Hout,
          l + 1 == sp.L && s.batch_first, h_n.data<T>() + ld * B * Hout,
          lstm ? c_n.data<T>() + ld * B * H : nullptr, s.cache[ld], parts > 1));
    }
    layer_in = layer_out;
  }
  // Dropout on layer l's input rows of batch range [r0, r1) (it is the previous layer's output).
  auto drop_rows = [&](int64_t l, int64_t r0, int64_t r1) {
    if (s.dropout_mask[l].defined())
      multiply_rows(st, r0, r1, s.layer_input[l].data<T>(), s.dropout_mask[l].data<T>(), D * Hout);
  };
  if (parts == 1) {
    for (int64_t l = 0; l < sp.L; ++l) {
      drop_rows(l, 0, B);
      for (int64_t d = 0; d < D; ++d) {
        DirForward<T>& dir = *dirs[l * D + d];
        parallel_for(0, dir.tiles(), std::max<int64_t>(1, kGrainSize / (kTransposeTile * Hout)),
                     [&](int64_t t0, int64_t t1) { dir.transpose_weights(t0, t1); });
        dir.project_input();
        dir.run_rows(0, B);
      }
    }
    return;
  }
  parallel_team(static_cast<int>(parts), [&](int64_t tid, int64_t team) {
    for (auto& dir : dirs) {
      const int64_t n = dir->tiles();
      dir->transpose_weights(n * tid / team, n * (tid + 1) / team);
    }
    team_barrier();
    for (int64_t p = tid; p < parts; p += team)
      for (int64_t l = 0; l < sp.L; ++l) {
        drop_rows(l, bounds[p], bounds[p + 1]);
        for (int64_t d = 0; d < D; ++d) dirs[l * D + d]->run_rows(bounds[p], bounds[p + 1]);
      }
  });
}

// Gradients of the input [N, I], of hx / cx and of every parameter (in params order). As in
// forward, with enough batch rows the recurrences of all layers and directions are one
// parallel region in which each thread takes its rows back through the whole stack (a row's
// input gradient is the previous layer's output gradient for that row alone); the weight
// gradients, which sum over all rows, follow.
template <typename T>
void stack_backward(const Saved& s, const Tensor& dout_in, const Tensor& dh_n, const Tensor& dc_n, bool need_dx,
                    Tensor& dx, Tensor& dhx, Tensor& dcx, std::vector<Tensor>& dparams) {
  const Spec& sp = s.sp;
  const Steps& st = s.st;
  const int64_t N = st.N, B = st.B, Hout = sp.Hout, H = sp.H, D = sp.D, L = sp.L;
  const bool lstm = sp.mode == Mode::Lstm;
  const DType dt = dout_in.dtype();
  dhx = clone(dh_n);
  if (lstm) dcx = clone(dc_n);
  const int64_t per = params_per_dir(sp);
  dparams.assign(static_cast<size_t>(per * L * D), Tensor());
  const std::vector<int64_t> bounds = batch_row_bounds<T>(sp, st);
  const int64_t parts = static_cast<int64_t>(bounds.size()) - 1;
  // dlayer_in[l]: gradient of layer l's input (its dropout undone: the previous layer's output).
  std::vector<Tensor> dlayer_in(static_cast<size_t>(L));
  std::vector<DirWeights> dws(static_cast<size_t>(L * D));
  std::vector<std::unique_ptr<DirBackward<T>>> dirs(static_cast<size_t>(L * D));
  for (int64_t l = L - 1; l >= 0; --l) {
    const int64_t I = sp.layer_input(l);
    if (l > 0 || need_dx) dlayer_in[l] = empty({N, I}, dt);
    const Tensor& dout = l + 1 == L ? dout_in : dlayer_in[l + 1];
    for (int64_t d = 0; d < D; ++d) {
      const int64_t ld = l * D + d;
      const DirWeights& w = s.weights[ld];
      DirWeights& dw = dws[ld];
      dw.w_ih = empty(w.w_ih.sizes(), dt);
      dw.w_hh = empty(w.w_hh.sizes(), dt);
      if (sp.bias) {
        dw.b_ih = empty({sp.GH()}, dt);
        dw.b_hh = empty({sp.GH()}, dt);
      }
      if (sp.P > 0) dw.w_hr = empty(w.w_hr.sizes(), dt);
      dirs[ld] = std::make_unique<DirBackward<T>>(
          sp, st, d == 1, s.layer_input[l].data<T>(), I, w, s.cache[ld], dout.data<T>() + d * Hout, D * Hout,
          l + 1 == L && s.batch_first, dhx.data<T>() + ld * B * Hout, lstm ? dcx.data<T>() + ld * B * H : nullptr, dw,
          dlayer_in[l].defined() ? dlayer_in[l].data<T>() : nullptr, d == 1, parts > 1);
    }
  }
  // The input gradient of layer l > 0 goes back through its dropout, rows of batch range [r0, r1).
  auto drop_rows = [&](int64_t l, int64_t r0, int64_t r1) {
    if (l > 0 && s.dropout_mask[l].defined())
      multiply_rows(st, r0, r1, dlayer_in[l].data<T>(), s.dropout_mask[l].data<T>(), sp.layer_input(l));
  };
  if (parts == 1) {
    for (int64_t l = L - 1; l >= 0; --l) {
      for (int64_t d = 0; d < D; ++d) {
        DirBackward<T>& dir = *dirs[l * D + d];
        parallel_for(0, dir.tiles(), std::max<int64_t>(1, kGrainSize / (kTransposeTile * Hout)),
                     [&](int64_t t0, int64_t t1) { dir.copy_weights(t0, t1); });
        dir.run_rows(0, B);
        dir.finish();
      }
      drop_rows(l, 0, B);
    }
  } else {
    parallel_team(static_cast<int>(parts), [&](int64_t tid, int64_t team) {
      for (auto& dir : dirs) {
        const int64_t n = dir->tiles();
        dir->copy_weights(n * tid / team, n * (tid + 1) / team);
      }
      team_barrier();
      for (int64_t p = tid; p < parts; p += team)
        for (int64_t l = L - 1; l >= 0; --l) {
          for (int64_t d = 0; d < D; ++d) dirs[l * D + d]->run_rows(bounds[p], bounds[p + 1]);
          drop_rows(l, bounds[p], bounds[p + 1]);
        }
    });
    for (auto& dir : dirs) dir->finish();
  }
  for (int64_t ld = 0; ld < L * D; ++ld) {
    Tensor* dp = dparams.data() + ld * per;
    dp[0] = dws[ld].w_ih;
    dp[1] = dws[ld].w_hh;
    if (sp.bias) {
      dp[2] = dws[ld].b_ih;
      dp[3] = dws[ld].b_hh;
    }
    if (sp.P > 0) dp[per - 1] = dws[ld].w_hr;
  }
  dx = dlayer_in[0];
}

Mode mode_from(int64_t mode) {
  EMBER_CHECK(mode >= 0 && mode <= 3, "rnn: unknown mode ", mode);
  return static_cast<Mode>(mode);
}

// The shared body of rnn() and the cells. `input` is [T, B, I] (or [B, T, I] with batch_first)
// or, with batch_sizes, packed [N, I]; hx [L*D, B, Hout], cx [L*D, B, H] (zeros when undefined).
// A cell is one step of a one-layer stack: input [B, I], hx [B, H], and its outputs are the
// states only.
std::tuple<Tensor, Tensor, Tensor> rnn_impl(Mode mode, const Tensor& input, const std::vector<int64_t>& batch_sizes,
                                            const Tensor& hx_in, const Tensor& cx_in,
                                            const std::vector<Tensor>& params, bool has_biases, int64_t num_layers,
                                            double dropout, bool train, bool bidirectional, bool batch_first,
                                            int64_t proj_size, Generator* gen, const char* node_name, bool cell) {
  Spec sp;
  sp.mode = mode;
  sp.G = gate_count(mode);
  sp.L = num_layers;
  sp.D = bidirectional ? 2 : 1;
  sp.bias = has_biases;
  sp.P = proj_size;
  EMBER_CHECK(num_layers >= 1, "rnn: num_layers must be positive, got ", num_layers);
  EMBER_CHECK(proj_size >= 0 && (proj_size == 0 || mode == Mode::Lstm), "rnn: proj_size is only supported for LSTM");
  EMBER_CHECK(dropout >= 0 && dropout <= 1, "rnn: dropout must lie in [0, 1], got ", dropout);
  EMBER_CHECK(!params.empty() && params[0].defined() && params[0].dim() == 2, "rnn: weight_ih_l0 must be 2-D");
  sp.H = params[0].size(0) / sp.G;
  sp.Hout = proj_size > 0 ? proj_size : sp.H;
  EMBER_CHECK(sp.H > 0 && params[0].size(0) == sp.GH(), "rnn: weight_ih_l0 has ", params[0].size(0),
              " rows, which is not a multiple of the ", sp.G, " gates");
  EMBER_CHECK(is_floating(input.dtype()), "rnn: expected a floating point input, got ", dtype_name(input.dtype()));
  const DType dt = input.dtype();
  const bool packed = !batch_sizes.empty();
  Steps st;
  Tensor x;  // [N, I] contiguous, time-major
  if (cell) {
    st = uniform_steps(1, input.size(0));
    x = contiguous(detach(input));
  } else if (packed) {
    EMBER_CHECK(input.dim() == 2, "rnn: packed input must be 2-D, got ", input.dim(), "-D");
    int64_t total = 0;
    for (size_t t = 0; t < batch_sizes.size(); ++t) {
      int64_t b = batch_sizes[t];
      EMBER_CHECK(b > 0 && (t == 0 || b <= batch_sizes[t - 1]),
                  "rnn: batch_sizes must be positive and non-increasing, got ", b, " at step ", t);
      st.bs.push_back(b);
      st.off.push_back(total);
      total += b;
    }
    EMBER_CHECK(total == input.size(0), "rnn: batch_sizes sum to ", total, " but the packed input has ",
                input.size(0), " rows");
    st.B = batch_sizes[0];
    st.N = total;
    x = contiguous(detach(input));
  } else {
    EMBER_CHECK(input.dim() == 3, "rnn: input must be 3-D, got ", input.dim(), "-D");
    Tensor tm = batch_first ? transpose(detach(input), 0, 1) : detach(input);
    st = uniform_steps(tm.size(0), tm.size(1));
    x = reshape(contiguous(tm), {st.N, tm.size(2)});
  }
  sp.input_size = x.size(1);
  EMBER_CHECK(params[0].size(1) == sp.input_size, "input.size(-1) must be equal to input_size. Expected ",
              params[0].size(1), ", got ", sp.input_size);
  check_params(sp, params, dt);
  const bool lstm = mode == Mode::Lstm;
  const Shape h_shape = cell ? Shape{st.B, sp.Hout} : Shape{sp.L * sp.D, st.B, sp.Hout};
  const Shape c_shape = cell ? Shape{st.B, sp.H} : Shape{sp.L * sp.D, st.B, sp.H};
  if (hx_in.defined()) check_state(hx_in, h_shape, dt, "hidden[0]");
  if (lstm && cx_in.defined()) check_state(cx_in, c_shape, dt, "hidden[1]");
  Tensor hxc = hx_in.defined() ? contiguous(detach(hx_in)) : zeros(h_shape, dt);
  Tensor cxc = !lstm ? Tensor() : cx_in.defined() ? contiguous(detach(cx_in)) : zeros(c_shape, dt);

  auto saved = std::make_shared<Saved>();
  saved->sp = sp;
  saved->st = st;
  saved->batch_first = batch_first && !packed && !cell;
  saved->packed = packed || cell;
  saved->layer_input.resize(static_cast<size_t>(sp.L));
  saved->dropout_mask.resize(static_cast<size_t>(sp.L));
  saved->cache.resize(static_cast<size_t>(sp.L * sp.D));
  saved->weights = unpack_weights(sp, params);
  Tensor out = empty({st.N, sp.D * sp.Hout}, dt);
  Tensor h_n = empty(h_shape, dt), c_n = lstm ? empty(c_shape, dt) : Tensor();
  if (st.N > 0) {
    dispatch_floating(dt, "rnn", [&](auto tag) {
      using T = decltype(tag);
      stack_forward<T>(*saved, x, hxc, cxc, out, h_n, c_n, dropout, train, gen);
    });
  } else {
    zero_(out);
    copy_(h_n, hxc);
    if (lstm) copy_(c_n, cxc);
  }
  // The caller's layout (a batch_first output's rows are already in batch-first order).
  if (!saved->packed)
    out = reshape(out, saved->batch_first ? Shape{st.B, st.T(), sp.D * sp.Hout} : Shape{st.T(), st.B, sp.D * sp.Hout});

  std::vector<Tensor> inputs{input, hx_in, cx_in};
  inputs.insert(inputs.end(), params.begin(), params.end());
  if (!any_requires_grad(inputs)) return {out, h_n, c_n};
  std::vector<Tensor*> outputs;
  if (!cell) outputs.push_back(&out);
  outputs.push_back(&h_n);
  if (lstm) outputs.push_back(&c_n);
  std::vector<std::pair<Tensor, bool>> to_save{{input, false}};  // version checks of input and weights
  for (const Tensor& p : params) to_save.push_back({p, false});
  std::string name = node_name;
  record_function(
      node_name, inputs, outputs,
      [saved, name, cell](const GradList& g, FunctionNode& self) {
        EMBER_CHECK(!grad_enabled(), "double backward through ", name,
                    " (a fused recurrent op) is not supported; call backward without create_graph=True");
        for (size_t i = 0; i < self.saved_tensors.size(); ++i) self.saved(i);  // freed or modified in place?
        const Saved& s = *saved;
        const Spec& sp = s.sp;
        const bool lstm = sp.mode == Mode::Lstm;
        const size_t first_state = cell ? 0 : 1;
        Tensor gout;
        if (cell) {
          gout = zeros({s.st.N, sp.Hout}, g[0].dtype());
        } else if (!s.packed) {
          gout = reshape(contiguous(g[0]), {s.st.N, sp.D * sp.Hout});  // batch_first: rows in batch-first order
        } else {
          gout = contiguous(g[0]);
        }
        Tensor dhn = contiguous(g[first_state]);
        Tensor dcn = lstm ? contiguous(g[first_state + 1]) : Tensor();
        Tensor dx, dhx, dcx;
        std::vector<Tensor> dparams;
        if (s.st.N > 0) {
          dispatch_floating(gout.dtype(), "rnn_backward", [&](auto tag) {
            using T = decltype(tag);
            stack_backward<T>(s, gout, dhn, dcn, self.needs_grad(0), dx, dhx, dcx, dparams);
          });
        } else {
          dhx = clone(dhn);
          if (lstm) dcx = clone(dcn);
          dx = zeros({0, sp.input_size}, gout.dtype());
          for (const DirWeights& w : s.weights) {
            dparams.push_back(zeros_like(w.w_ih));
            dparams.push_back(zeros_like(w.w_hh));
            if (sp.bias) {
              dparams.push_back(zeros_like(w.b_ih));
              dparams.push_back(zeros_like(w.b_hh));
            }
            if (sp.P > 0) dparams.push_back(zeros_like(w.w_hr));
          }
        }
        if (dx.defined() && !s.packed) {
          dx = reshape(dx, {s.st.T(), s.st.B, sp.input_size});
          if (s.batch_first) dx = contiguous(transpose(dx, 0, 1));
        }
        GradList grads{self.needs_grad(0) ? dx : Tensor(), dhx, dcx};
        grads.insert(grads.end(), dparams.begin(), dparams.end());
        return grads;
      },
      to_save);
  return {out, h_n, c_n};
}

std::vector<Tensor> cell_params(const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh) {
  EMBER_CHECK(b_ih.defined() == b_hh.defined(), "rnn cell: b_ih and b_hh must both be given or both be None");
  if (b_ih.defined()) return {w_ih, w_hh, b_ih, b_hh};
  return {w_ih, w_hh};
}

// torch's checks of a cell's arguments: 2-D input [B, I], states [B, H].
void check_cell(const char* mode, const Tensor& x, const std::vector<const Tensor*>& states, const Tensor& w_ih,
                const Tensor& w_hh, int64_t G) {
  EMBER_CHECK(x.dim() == 2, mode, ": expected a 2-D input, got ", x.dim(), "-D");
  EMBER_CHECK(w_ih.dim() == 2 && w_hh.dim() == 2, mode, ": weights must be 2-D");
  EMBER_CHECK(x.size(1) == w_ih.size(1), "input has inconsistent input_size: got ", x.size(1), " expected ",
              w_ih.size(1));
  const int64_t H = w_hh.size(1);
  EMBER_CHECK(w_ih.size(0) == G * H && w_hh.size(0) == G * H, mode, ": weights have ", w_ih.size(0), " and ",
              w_hh.size(0), " rows, expected ", G * H);
  for (size_t i = 0; i < states.size(); ++i) {
    const Tensor& s = *states[i];
    if (!s.defined()) continue;  // zeros
    EMBER_CHECK(s.dim() >= 2 && x.size(0) == s.size(0), "Input batch size ", x.size(0), " doesn't match hidden",
                i, " batch size ", s.dim() > 0 ? s.size(0) : 0);
    EMBER_CHECK(s.size(1) == H, "hidden", i, " has inconsistent hidden_size: got ", s.size(1), ", expected ", H);
    EMBER_CHECK(s.dim() == 2, mode, ": hidden", i, " must be 2-D, got ", s.dim(), "-D");
  }
}

}  // namespace

std::tuple<Tensor, Tensor, Tensor> rnn(int64_t mode, const Tensor& input, const std::vector<int64_t>& batch_sizes,
                                       const Tensor& hx, const Tensor& cx, const std::vector<Tensor>& params,
                                       bool has_biases, int64_t num_layers, double dropout, bool train,
                                       bool bidirectional, bool batch_first, int64_t proj_size, Generator* gen) {
  Mode m = mode_from(mode);
  std::string name = str_cat(mode_name(m), "Backward");
  return rnn_impl(m, input, batch_sizes, hx, cx, params, has_biases, num_layers, dropout, train, bidirectional,
                  batch_first, proj_size, gen, name.c_str(), false);
}

// A cell is one step of a one-layer, one-direction stack.
std::tuple<Tensor, Tensor> lstm_cell(const Tensor& x, const Tensor& h, const Tensor& c, const Tensor& w_ih,
                                     const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh) {
  check_cell("lstm_cell", x, {&h, &c}, w_ih, w_hh, 4);
  auto r = rnn_impl(Mode::Lstm, x, {}, h, c, cell_params(w_ih, w_hh, b_ih, b_hh), b_ih.defined(), 1, 0.0, false,
                    false, false, 0, nullptr, "LstmCellBackward", true);
  return {std::get<1>(r), std::get<2>(r)};
}

Tensor gru_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                const Tensor& b_hh) {
  check_cell("gru_cell", x, {&h}, w_ih, w_hh, 3);
  return std::get<1>(rnn_impl(Mode::Gru, x, {}, h, Tensor(), cell_params(w_ih, w_hh, b_ih, b_hh), b_ih.defined(), 1,
                              0.0, false, false, false, 0, nullptr, "GruCellBackward", true));
}

Tensor rnn_tanh_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                     const Tensor& b_hh) {
  check_cell("rnn_tanh_cell", x, {&h}, w_ih, w_hh, 1);
  return std::get<1>(rnn_impl(Mode::RnnTanh, x, {}, h, Tensor(), cell_params(w_ih, w_hh, b_ih, b_hh),
                              b_ih.defined(), 1, 0.0, false, false, false, 0, nullptr, "RnnTanhCellBackward", true));
}

Tensor rnn_relu_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                     const Tensor& b_hh) {
  check_cell("rnn_relu_cell", x, {&h}, w_ih, w_hh, 1);
  return std::get<1>(rnn_impl(Mode::RnnRelu, x, {}, h, Tensor(), cell_params(w_ih, w_hh, b_ih, b_hh),
                              b_ih.defined(), 1, 0.0, false, false, false, 0, nullptr, "RnnReluCellBackward", true));
}

}  // namespace ember
