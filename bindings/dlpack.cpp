// DLPack: zero-copy exchange of CPU tensors with numpy, torch and any other DLPack library.
//
// Export: Tensor.__dlpack__ hands out a PyCapsule named "dltensor" (DLManagedTensor) or, when
// the consumer asks for max_version >= (1, 0), "dltensor_versioned" (DLManagedTensorVersioned).
// The managed tensor holds a reference to the ember tensor until the consumer calls its
// deleter; a capsule that nobody consumed calls the deleter itself when it is collected.
// Import: ember.from_dlpack takes an object with __dlpack__ or a raw capsule, renames the
// capsule to "used_..." (so it cannot be consumed twice) and calls the producer's deleter when
// the last ember tensor using the memory dies.
#include <cstring>
#include "common.h"

namespace ember_py {

using ember::DType;
using ember::Tensor;

// ---- the DLPack ABI (dlpack.h, version 1.x) --------------------------------------------------
namespace dl {

enum DeviceType : int32_t { kDLCPU = 1 };
enum TypeCode : uint8_t { kDLInt = 0, kDLUInt = 1, kDLFloat = 2, kDLBool = 6 };

struct DLDevice {
  int32_t device_type;
  int32_t device_id;
};
struct DLDataType {
  uint8_t code;
  uint8_t bits;
  uint16_t lanes;
};
struct DLTensor {
  void* data;
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t* shape;
  int64_t* strides;  // in elements; null means compact row-major
  uint64_t byte_offset;
};
struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(DLManagedTensor* self);
};
struct DLPackVersion {
  uint32_t major;
  uint32_t minor;
};
constexpr uint64_t kFlagReadOnly = 1ULL << 0;
constexpr uint64_t kFlagIsCopied = 1ULL << 1;
struct DLManagedTensorVersioned {
  DLPackVersion version;
  void* manager_ctx;
  void (*deleter)(DLManagedTensorVersioned* self);
  uint64_t flags;
  DLTensor dl_tensor;
};

}  // namespace dl

constexpr uint32_t kDLPackMajor = 1, kDLPackMinor = 0;

static dl::DLDataType to_dl_dtype(DType t) {
  uint8_t bits = static_cast<uint8_t>(ember::itemsize(t) * 8);
  switch (t) {
    case DType::Bool: return {dl::kDLBool, 8, 1};
    case DType::UInt8: return {dl::kDLUInt, 8, 1};
    case DType::Float32:
    case DType::Float64: return {dl::kDLFloat, bits, 1};
    default: return {dl::kDLInt, bits, 1};
  }
}

static bool from_dl_dtype(const dl::DLDataType& d, DType& out) {
  if (d.lanes != 1) return false;
  switch (d.code) {
    case dl::kDLBool: if (d.bits == 8) { out = DType::Bool; return true; } return false;
    case dl::kDLUInt: if (d.bits == 8) { out = DType::UInt8; return true; } return false;
    case dl::kDLFloat:
      if (d.bits == 32) { out = DType::Float32; return true; }
      if (d.bits == 64) { out = DType::Float64; return true; }
      return false;
    case dl::kDLInt:
      switch (d.bits) {
        case 8: out = DType::Int8; return true;
        case 16: out = DType::Int16; return true;
        case 32: out = DType::Int32; return true;
        case 64: out = DType::Int64; return true;
      }
      return false;
  }
  return false;
}

// ---- export ----------------------------------------------------------------------------------

// Owns what the DLTensor points to: the exported tensor and its shape/stride arrays.
struct ExportContext {
  Tensor tensor;
  std::vector<int64_t> shape, strides;
};

static void fill_dl_tensor(dl::DLTensor& d, ExportContext* ctx) {
  const Tensor& t = ctx->tensor;
  d.data = t.data_ptr();
  d.device = {dl::kDLCPU, 0};
  d.ndim = static_cast<int32_t>(t.dim());
  d.dtype = to_dl_dtype(t.dtype());
  d.shape = ctx->shape.data();
  d.strides = ctx->strides.data();
  d.byte_offset = 0;
}

template <typename Managed>
static void delete_export(Managed* m) {
  delete static_cast<ExportContext*>(m->manager_ctx);
  delete m;
}

// Capsule destructor: frees the managed tensor unless a consumer took it (renamed the capsule).
template <typename Managed>
static void capsule_destructor(PyObject* capsule, const char* name) {
  if (!PyCapsule_IsValid(capsule, name)) return;  // consumed ("used_...")
  PyObject *type, *value, *trace;
  PyErr_Fetch(&type, &value, &trace);  // destructors may run while an exception is set
  auto* m = static_cast<Managed*>(PyCapsule_GetPointer(capsule, name));
  if (m && m->deleter) m->deleter(m);
  PyErr_Restore(type, value, trace);
}

static py::object to_dlpack(const Tensor& self, py::handle stream, py::handle max_version, py::handle dl_device,
                            py::handle copy) {
  if (self.requires_grad())
    throw py::buffer_error("Can't export tensors that require gradient, use tensor.detach()");
  if (!stream.is_none() && !(PyLong_Check(stream.ptr()) && PyLong_AsLong(stream.ptr()) == -1))
    throw py::buffer_error("stream should be None on cpu.");
  if (!dl_device.is_none()) {
    auto dev = dl_device.cast<std::pair<int, int>>();
    if (dev.first != dl::kDLCPU)
      throw py::buffer_error("ember can only export CPU tensors, but dl_device=(" + std::to_string(dev.first) +
                             ", " + std::to_string(dev.second) + ") was requested");
  }
  bool copied = !copy.is_none() && copy.cast<bool>();
  bool versioned = false;
  if (!max_version.is_none()) {
    auto v = max_version.cast<std::pair<int, int>>();
    versioned = v.first >= 1;
  }
  auto* ctx = new ExportContext{copied ? ember::clone(ember::detach(self)) : ember::detach(self), {}, {}};
  ctx->shape = ctx->tensor.sizes();
  ctx->strides = ctx->tensor.strides();
  if (versioned) {
    auto* m = new dl::DLManagedTensorVersioned{};
    m->version = {kDLPackMajor, kDLPackMinor};
    m->manager_ctx = ctx;
    m->deleter = &delete_export<dl::DLManagedTensorVersioned>;
    m->flags = copied ? dl::kFlagIsCopied : 0;
    fill_dl_tensor(m->dl_tensor, ctx);
    PyObject* cap = PyCapsule_New(m, "dltensor_versioned", [](PyObject* c) {
      capsule_destructor<dl::DLManagedTensorVersioned>(c, "dltensor_versioned");
    });
    if (!cap) { delete_export(m); throw py::error_already_set(); }
    return py::reinterpret_steal<py::object>(cap);
  }
  auto* m = new dl::DLManagedTensor{};
  m->manager_ctx = ctx;
  m->deleter = &delete_export<dl::DLManagedTensor>;
  fill_dl_tensor(m->dl_tensor, ctx);
  PyObject* cap = PyCapsule_New(m, "dltensor", [](PyObject* c) { capsule_destructor<dl::DLManagedTensor>(c, "dltensor"); });
  if (!cap) { delete_export(m); throw py::error_already_set(); }
  return py::reinterpret_steal<py::object>(cap);
}

// ---- import ----------------------------------------------------------------------------------

// Checks a producer's DLTensor and views it as an ember tensor; `owner` runs the producer's
// deleter when the storage dies. Throws before anything is taken over.
static Tensor tensor_from_dl(const dl::DLTensor& d, std::shared_ptr<void>& owner) {
  if (d.device.device_type != dl::kDLCPU)
    throw py::buffer_error("ember.from_dlpack: only CPU tensors can be imported, but the DLPack tensor is on device "
                           "type " + std::to_string(d.device.device_type));
  DType dt;
  if (!from_dl_dtype(d.dtype, dt))
    throw py::buffer_error("ember.from_dlpack: unsupported DLPack dtype (code " + std::to_string(d.dtype.code) +
                           ", bits " + std::to_string(d.dtype.bits) + ", lanes " + std::to_string(d.dtype.lanes) +
                           "); supported: float64, float32, int64, int32, int16, int8, uint8 and bool");
  if (d.ndim < 0) throw py::buffer_error("ember.from_dlpack: negative ndim");
  ember::Shape sizes(d.shape, d.shape + d.ndim);
  ember::Shape strides = d.strides ? ember::Shape(d.strides, d.strides + d.ndim) : ember::contiguous_strides(sizes);
  int64_t max_off = 0;
  bool empty = false;
  for (int32_t i = 0; i < d.ndim; ++i) {
    if (sizes[i] < 0) throw py::buffer_error("ember.from_dlpack: negative size in shape " + ember::shape_str(sizes));
    if (sizes[i] == 0) empty = true;
    if (strides[i] < 0 && sizes[i] > 1)
      throw py::buffer_error("ember.from_dlpack: tensors with negative strides are not supported (strides " +
                             ember::shape_str(strides) + "); make a copy first");
    if (sizes[i] > 1) max_off += (sizes[i] - 1) * strides[i];
  }
  size_t isz = ember::itemsize(dt);
  size_t nbytes = empty ? 0 : static_cast<size_t>(max_off + 1) * isz;
  char* data = static_cast<char*>(d.data) + d.byte_offset;
  auto impl = std::make_shared<ember::TensorImpl>();
  impl->storage = ember::Storage::wrap(data, nbytes, owner);
  impl->sizes = std::move(sizes);
  impl->strides = std::move(strides);
  impl->dtype = dt;
  impl->inference = ember::inference_mode_enabled();
  for (size_t i = 0; i < impl->sizes.size(); ++i)
    if (impl->sizes[i] <= 1) impl->strides[i] = impl->strides[i] < 0 ? 0 : impl->strides[i];
  return Tensor(std::move(impl));
}

template <typename Managed>
static std::shared_ptr<void> producer_owner(Managed* m) {
  return std::shared_ptr<void>(m, [](void* p) {
    auto* mt = static_cast<Managed*>(p);
    if (!mt->deleter) return;
    py::gil_scoped_acquire gil;  // Python producers release Python objects in their deleters
    mt->deleter(mt);
  });
}

static Tensor from_capsule(py::handle capsule) {
  PyObject* cap = capsule.ptr();
  if (PyCapsule_IsValid(cap, "dltensor_versioned")) {
    auto* m = static_cast<dl::DLManagedTensorVersioned*>(PyCapsule_GetPointer(cap, "dltensor_versioned"));
    if (m->version.major > kDLPackMajor)
      throw py::buffer_error("ember.from_dlpack: unsupported DLPack version " + std::to_string(m->version.major) +
                             "." + std::to_string(m->version.minor) + " (ember reads version 1.x)");
    std::shared_ptr<void> no_owner;
    tensor_from_dl(m->dl_tensor, no_owner);  // validate before taking ownership
    std::shared_ptr<void> owner = producer_owner(m);
    if (PyCapsule_SetName(cap, "used_dltensor_versioned") != 0) throw py::error_already_set();
    // Read-only memory (flags & kFlagReadOnly) is accepted, as torch does: writes are the caller's risk.
    return tensor_from_dl(m->dl_tensor, owner);
  }
  if (PyCapsule_IsValid(cap, "dltensor")) {
    auto* m = static_cast<dl::DLManagedTensor*>(PyCapsule_GetPointer(cap, "dltensor"));
    std::shared_ptr<void> no_owner;
    tensor_from_dl(m->dl_tensor, no_owner);
    std::shared_ptr<void> owner = producer_owner(m);
    if (PyCapsule_SetName(cap, "used_dltensor") != 0) throw py::error_already_set();
    return tensor_from_dl(m->dl_tensor, owner);
  }
  throw ember::Error(
      "from_dlpack received an invalid capsule. Note that DLTensor capsules can be consumed only once, so you "
      "might have already constructed a tensor from it once.");
}

static Tensor from_dlpack(py::handle obj) {
  if (PyCapsule_CheckExact(obj.ptr())) return from_capsule(obj);
  if (!py::hasattr(obj, "__dlpack__"))
    throw py::type_error("from_dlpack(): expected an object with __dlpack__ or a DLPack capsule, got " +
                         std::string(py::str(py::type::handle_of(obj).attr("__name__"))));
  if (py::hasattr(obj, "__dlpack_device__")) {
    auto dev = obj.attr("__dlpack_device__")().cast<std::pair<int, int>>();
    if (dev.first != dl::kDLCPU)
      throw py::buffer_error("ember.from_dlpack: only CPU tensors can be imported, but the object is on device type " +
                             std::to_string(dev.first));
  }
  py::object capsule;
  try {
    capsule = obj.attr("__dlpack__")(py::arg("max_version") = py::make_tuple(kDLPackMajor, kDLPackMinor));
  } catch (py::error_already_set& e) {
    if (!e.matches(PyExc_TypeError)) throw;
    capsule = obj.attr("__dlpack__")();  // a producer that predates max_version
  }
  return from_capsule(capsule);
}

void init_dlpack(py::module_& m) {
  m.def("from_dlpack", &from_dlpack, py::arg("ext_tensor"));
  def_tensor_method("__dlpack__", &to_dlpack, py::arg("stream") = py::none(), py::kw_only(),
                    py::arg("max_version") = py::none(), py::arg("dl_device") = py::none(),
                    py::arg("copy") = py::none());
  def_tensor_method("__dlpack_device__", [](const Tensor&) { return py::make_tuple(int(dl::kDLCPU), 0); });
}

}  // namespace ember_py
