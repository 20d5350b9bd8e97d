// The strided elementwise iterator.
//
// An elementwise op has N operands, operand 0 being the output, all viewed with the output's
// shape (inputs broadcast by giving stride 0 to expanded dims). `Geometry` holds that common
// shape with per-operand strides in bytes, after coalescing: adjacent dims that are
// contiguous with each other in every operand are merged, so a contiguous tensor of any rank
// becomes one dim and the inner loop runs over long, unit-stride rows. `for_each_row` walks
// the linear range [begin, end) and calls `inner(ptrs, strides, n)` once per innermost row
// segment; kernels test the inner strides to pick a contiguous (vectorisable) loop.
// `run` splits the range across threads with parallel_for.
#pragma once
#include <array>
#include <cstdint>
#include <vector>
#include "ember/tensor.h"
#include "parallel.h"

namespace ember {

// torch's broadcasting of two shapes; RuntimeError names both shapes on mismatch.
Shape broadcast_shapes(const Shape& a, const Shape& b);

template <int N>
struct Geometry {
  std::vector<int64_t> shape;                   // innermost dim last
  std::vector<std::array<int64_t, N>> strides;  // bytes, per dim
  std::array<char*, N> base{};
  int64_t numel = 1;

  Geometry(const Shape& out_shape, const std::array<const Tensor*, N>& ops) {
    int nd = static_cast<int>(out_shape.size());
    for (int i = 0; i < N; ++i) base[i] = static_cast<char*>(ops[i]->data_ptr());
    std::vector<int64_t> sh;
    std::vector<std::array<int64_t, N>> st;
    for (int d = 0; d < nd; ++d) {
      int64_t size = out_shape[d];
      numel *= size;
      if (size == 1) continue;  // size-1 dims never move the pointers
      std::array<int64_t, N> s{};
      for (int i = 0; i < N; ++i) {
        const Tensor& t = *ops[i];
        int off = d - (nd - static_cast<int>(t.dim()));
        s[i] = (off < 0 || t.sizes()[off] == 1) ? 0 : t.strides()[off] * static_cast<int64_t>(t.element_size());
      }
      if (!sh.empty()) {
        bool merge = true;
        for (int i = 0; i < N; ++i)
          if (st.back()[i] != s[i] * size) { merge = false; break; }
        if (merge) { sh.back() *= size; st.back() = s; continue; }
      }
      sh.push_back(size);
      st.push_back(s);
    }
    if (sh.empty()) { sh.push_back(1); st.push_back(std::array<int64_t, N>{}); }
    shape = std::move(sh);
    strides = std::move(st);
  }

  template <typename Inner>
  void for_each_row(int64_t begin, int64_t end, const Inner& inner) const {
    int nd = static_cast<int>(shape.size());
    int64_t inner_size = shape[nd - 1];
    std::array<int64_t, N> inner_stride = strides[nd - 1];
    // multi-index of `begin`
    std::vector<int64_t> idx(nd, 0);
    int64_t rem = begin;
    for (int d = nd - 1; d >= 0; --d) { idx[d] = rem % shape[d]; rem /= shape[d]; }
    int64_t pos = begin;
    while (pos < end) {
      std::array<char*, N> p = base;
      for (int d = 0; d < nd; ++d)
        for (int i = 0; i < N; ++i) p[i] += idx[d] * strides[d][i];
      int64_t n = std::min(inner_size - idx[nd - 1], end - pos);
      inner(p, inner_stride, n);
      pos += n;
      idx[nd - 1] += n;
      for (int d = nd - 1; d > 0 && idx[d] >= shape[d]; --d) { idx[d] = 0; ++idx[d - 1]; }
    }
  }

  template <typename Inner>
  void run(const Inner& inner, int64_t grain = kGrainSize) const {
    parallel_for(0, numel, grain, [&](int64_t b, int64_t e) { for_each_row(b, e, inner); });
  }
};

// out[i] = f(a[i]); `out` and `a` have the same shape.
template <typename Out, typename A, typename F>
void unary_loop(const Tensor& out, const Tensor& a, const F& f) {
  Geometry<2> g(out.sizes(), {&out, &a});
  g.run([&](const std::array<char*, 2>& p, const std::array<int64_t, 2>& s, int64_t n) {
    Out* o = reinterpret_cast<Out*>(p[0]);
    const A* x = reinterpret_cast<const A*>(p[1]);
    if (s[0] == sizeof(Out) && s[1] == sizeof(A)) {
      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i]);
    } else {
      for (int64_t i = 0; i < n; ++i)
        *reinterpret_cast<Out*>(p[0] + i * s[0]) = f(*reinterpret_cast<const A*>(p[1] + i * s[1]));
    }
  });
}

// out[i] = f(a[i], b[i]) with a and b broadcast to out's shape.
template <typename Out, typename A, typename B, typename F>
void binary_loop(const Tensor& out, const Tensor& a, const Tensor& b, const F& f) {
  Geometry<3> g(out.sizes(), {&out, &a, &b});
  g.run([&](const std::array<char*, 3>& p, const std::array<int64_t, 3>& s, int64_t n) {
    Out* o = reinterpret_cast<Out*>(p[0]);
    const A* x = reinterpret_cast<const A*>(p[1]);
    const B* y = reinterpret_cast<const B*>(p[2]);
    if (s[0] == sizeof(Out) && s[1] == sizeof(A) && s[2] == sizeof(B)) {
      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i]);
    } else if (s[0] == sizeof(Out) && s[1] == sizeof(A) && s[2] == 0) {
      const B yv = *y;
      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], yv);
    } else if (s[0] == sizeof(Out) && s[1] == 0 && s[2] == sizeof(B)) {
      const A xv = *x;
      for (int64_t i = 0; i < n; ++i) o[i] = f(xv, y[i]);
    } else {
      for (int64_t i = 0; i < n; ++i)
        *reinterpret_cast<Out*>(p[0] + i * s[0]) = f(*reinterpret_cast<const A*>(p[1] + i * s[1]),
                                                     *reinterpret_cast<const B*>(p[2] + i * s[2]));
    }
  });
}

// out[i] = f(a[i], b[i], c[i]) with broadcasting (where, clamp with tensor bounds, ...).
template <typename Out, typename A, typename B, typename C, typename F>
void ternary_loop(const Tensor& out, const Tensor& a, const Tensor& b, const Tensor& c, const F& f) {
  Geometry<4> g(out.sizes(), {&out, &a, &b, &c});
  g.run([&](const std::array<char*, 4>& p, const std::array<int64_t, 4>& s, int64_t n) {
    for (int64_t i = 0; i < n; ++i)
      *reinterpret_cast<Out*>(p[0] + i * s[0]) = f(*reinterpret_cast<const A*>(p[1] + i * s[1]),
                                                   *reinterpret_cast<const B*>(p[2] + i * s[2]),
                                                   *reinterpret_cast<const C*>(p[3] + i * s[3]));
  });
}

}  // namespace ember
