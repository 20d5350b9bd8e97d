// Convolutions, unfold/fold and the non-constant padding modes: ember.conv1d ... conv_transpose3d
// (torch's top-level names, also F.conv*), and ember._C._nn.im2col / col2im / pad_nd.
#include "common.h"

namespace ember_py {

using ember::Tensor;
using IntList = std::vector<int64_t>;

namespace {

std::string type_name(py::handle h) { return py::str(py::type::handle_of(h).attr("__name__")); }

bool is_int(py::handle h) {
  return (PyLong_Check(h.ptr()) && !PyBool_Check(h.ptr())) ||
         (!PyFloat_Check(h.ptr()) && !PyBool_Check(h.ptr()) && py::hasattr(h, "__index__"));
}

// An int or a tuple/list of ints, with torch's TypeError naming the argument (as for a keyword
// argument: the position is not known here).
IntList int_list(py::handle h, const char* fn, const char* arg) {
  auto fail = [&](const std::string& found) {
    throw py::type_error(std::string(fn) + "(): argument '" + arg + "' must be tuple of ints, " + found);
  };
  if (is_int(h)) return {h.attr("__index__")().cast<int64_t>()};
  if (!PyTuple_Check(h.ptr()) && !PyList_Check(h.ptr())) fail("not " + type_name(h));
  IntList out;
  int i = 0;
  for (auto item : h) {
    if (!is_int(item)) fail("but found element of type " + type_name(item) + " at pos " + std::to_string(i));
    out.push_back(item.attr("__index__")().cast<int64_t>());
    ++i;
  }
  return out;
}

using ConvFn = Tensor (*)(const Tensor&, const Tensor&, const Tensor&, const IntList&, const IntList&, const IntList&,
                          int64_t);
using ConvSameFn = Tensor (*)(const Tensor&, const Tensor&, const Tensor&, const IntList&, const std::string&,
                              const IntList&, int64_t);
using ConvTransposeFn = Tensor (*)(const Tensor&, const Tensor&, const Tensor&, const IntList&, const IntList&,
                                   const IntList&, int64_t, const IntList&);

void def_conv(py::module_& m, const char* name, ConvFn f, ConvSameFn f_str) {
  m.def(
      name,
      [name, f, f_str](const Tensor& x, const Tensor& w, const Tensor& b, py::handle stride, py::handle padding,
                       py::handle dilation, int64_t groups) {
        IntList s = int_list(stride, name, "stride"), d = int_list(dilation, name, "dilation");
        if (PyUnicode_Check(padding.ptr())) {
          std::string p = padding.cast<std::string>();
          py::gil_scoped_release nogil;
          return f_str(x, w, b, s, p, d, groups);
        }
        IntList p = int_list(padding, name, "padding");
        py::gil_scoped_release nogil;
        return f(x, w, b, s, p, d, groups);
      },
      py::arg("input"), py::arg("weight"), py::arg("bias") = py::none(), py::arg("stride") = 1,
      py::arg("padding") = 0, py::arg("dilation") = 1, py::arg("groups") = 1);
}

void def_conv_transpose(py::module_& m, const char* name, ConvTransposeFn f) {
  m.def(
      name,
      [name, f](const Tensor& x, const Tensor& w, const Tensor& b, py::handle stride, py::handle padding,
                py::handle output_padding, int64_t groups, py::handle dilation) {
        IntList s = int_list(stride, name, "stride"), p = int_list(padding, name, "padding");
        IntList op = int_list(output_padding, name, "output_padding"), d = int_list(dilation, name, "dilation");
        py::gil_scoped_release nogil;
        return f(x, w, b, s, p, op, groups, d);
      },
      py::arg("input"), py::arg("weight"), py::arg("bias") = py::none(), py::arg("stride") = 1,
      py::arg("padding") = 0, py::arg("output_padding") = 0, py::arg("groups") = 1, py::arg("dilation") = 1);
}

}  // namespace

void init_nn_conv(py::module_& m) {
  py::module_ nn = py::hasattr(m, "_nn") ? py::reinterpret_borrow<py::module_>(m.attr("_nn"))
                                         : m.def_submodule("_nn", "Kernels behind ember.nn.functional");
  def_conv(m, "conv1d", &ember::conv1d, &ember::conv1d);
  def_conv(m, "conv2d", &ember::conv2d, &ember::conv2d);
  def_conv(m, "conv3d", &ember::conv3d, &ember::conv3d);
  def_conv_transpose(m, "conv_transpose1d", &ember::conv_transpose1d);
  def_conv_transpose(m, "conv_transpose2d", &ember::conv_transpose2d);
  def_conv_transpose(m, "conv_transpose3d", &ember::conv_transpose3d);

  nn.def(
      "im2col",
      [](const Tensor& x, py::handle k, py::handle d, py::handle p, py::handle s) {
        IntList kk = int_list(k, "im2col", "kernel_size"), dd = int_list(d, "im2col", "dilation");
        IntList pp = int_list(p, "im2col", "padding"), ss = int_list(s, "im2col", "stride");
        py::gil_scoped_release nogil;
        return ember::im2col(x, kk, dd, pp, ss);
      },
      py::arg("input"), py::arg("kernel_size"), py::arg("dilation"), py::arg("padding"), py::arg("stride"));
  nn.def(
      "col2im",
      [](const Tensor& x, py::handle o, py::handle k, py::handle d, py::handle p, py::handle s) {
        IntList oo = int_list(o, "col2im", "output_size"), kk = int_list(k, "col2im", "kernel_size");
        IntList dd = int_list(d, "col2im", "dilation"), pp = int_list(p, "col2im", "padding");
        IntList ss = int_list(s, "col2im", "stride");
        py::gil_scoped_release nogil;
        return ember::col2im(x, oo, kk, dd, pp, ss);
      },
      py::arg("input"), py::arg("output_size"), py::arg("kernel_size"), py::arg("dilation"), py::arg("padding"),
      py::arg("stride"));
  nn.def(
      "pad_nd",
      [](const Tensor& x, py::handle pad, const std::string& mode) {
        IntList p = int_list(pad, "pad", "pad");
        py::gil_scoped_release nogil;
        return ember::pad_nd(x, p, mode);
      },
      py::arg("input"), py::arg("pad"), py::arg("mode"));
}

}  // namespace ember_py
