#include "ember/dtype.h"
#include "ember/error.h"

namespace ember {

size_t itemsize(DType t) {
  static constexpr size_t sizes[] = {1, 1, 1, 2, 4, 8, 4, 8};
  return sizes[static_cast<int>(t)];
}

const char* dtype_name(DType t) {
  static const char* names[] = {"bool", "uint8", "int8", "int16", "int32", "int64", "float32", "float64"};
  return names[static_cast<int>(t)];
}

const char* legacy_type_name(DType t) {
  static const char* names[] = {"BoolTensor", "ByteTensor", "CharTensor", "ShortTensor",
                                "IntTensor",  "LongTensor", "FloatTensor", "DoubleTensor"};
  return names[static_cast<int>(t)];
}

const char* scalar_type_name(DType t) {
  static const char* names[] = {"Bool", "Byte", "Char", "Short", "Int", "Long", "Float", "Double"};
  return names[static_cast<int>(t)];
}

const char* cpp_type_name(DType t) {
  static const char* names[] = {"bool", "unsigned char", "signed char", "short int", "int", "long int", "float", "double"};
  return names[static_cast<int>(t)];
}

DType promote_types(DType a, DType b) {
  if (a == b) return a;
  if (is_floating(a) || is_floating(b)) {
    if (is_floating(a) && is_floating(b)) return a > b ? a : b;
    return is_floating(a) ? a : b;
  }
  if (a == DType::Bool) return b;
  if (b == DType::Bool) return a;
  // uint8 with a signed type: the smallest signed type holding both.
  if (a == DType::UInt8 || b == DType::UInt8) {
    DType other = a == DType::UInt8 ? b : a;
    return other == DType::Int8 ? DType::Int16 : other;
  }
  return a > b ? a : b;
}

static DType g_default_dtype = DType::Float32;
DType default_dtype() { return g_default_dtype; }
void set_default_dtype(DType t) {
  EMBER_CHECK_T(TypeError, is_floating(t), "only floating-point types are supported as the default type");
  g_default_dtype = t;
}

}  // namespace ember
