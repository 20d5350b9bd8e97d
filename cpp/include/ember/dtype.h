// Element types and torch's type-promotion rules.
#pragma once
#include <cstddef>
#include <cstdint>
#include "export.h"

namespace ember {

// Ordered so that promotion inside a category picks the larger enum value.
enum class DType : int8_t { Bool, UInt8, Int8, Int16, Int32, Int64, Float32, Float64 };
constexpr int kNumDTypes = 8;

// Bytes per element.
EMBER_API size_t itemsize(DType t);
// torch's short name: "float32", "int64", "bool", ...
EMBER_API const char* dtype_name(DType t);
// Legacy tensor type name used in error messages: "FloatTensor", "LongTensor", ...
EMBER_API const char* legacy_type_name(DType t);
// torch's ScalarType name used in dtype errors: "Float", "Long", "Bool", ...
EMBER_API const char* scalar_type_name(DType t);
// The C++ type name some torch messages print: "float", "long int", ...
EMBER_API const char* cpp_type_name(DType t);
inline bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }
inline bool is_integral(DType t, bool include_bool) {
  return include_bool ? !is_floating(t) : (!is_floating(t) && t != DType::Bool);
}
// torch.promote_types for two tensor dtypes.
EMBER_API DType promote_types(DType a, DType b);
// The dtype used for new floating tensors (torch.get_default_dtype()).
EMBER_API DType default_dtype();
EMBER_API void set_default_dtype(DType t);

}  // namespace ember
