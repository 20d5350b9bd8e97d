// The safetensors format: an 8-byte little-endian header length, a JSON header
// {"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets"}, ...} padded with spaces
// to a multiple of 8 bytes, then the tensors' bytes, contiguous, little-endian, with no holes.
// Files are written in the safetensors package's layout (tensors sorted by dtype, largest type
// first, then by name) so both produce the same bytes. Everything read is validated before use.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>

#include "ember/io.h"
#include "ember/ops.h"

namespace ember {

namespace {

// Header sizes above this are refused, as the safetensors package does.
constexpr uint64_t kMaxHeaderBytes = 100000000;
// Nesting deeper than this in a header is refused instead of recursing further.
constexpr int kMaxJsonDepth = 64;

struct DTypeName {
  DType dtype;
  const char* name;
  int order;  // the safetensors package lays tensors out by descending order
};
constexpr DTypeName kDTypeNames[] = {
    {DType::Bool, "BOOL", 0},  {DType::UInt8, "U8", 1},    {DType::Int8, "I8", 2},
    {DType::Int16, "I16", 5},  {DType::Int32, "I32", 9},   {DType::Float32, "F32", 11},
    {DType::Float64, "F64", 12}, {DType::Int64, "I64", 13},
};
// Types of the format that ember has no dtype for.
constexpr const char* kUnsupportedNames[] = {"F16", "BF16", "U16", "U32", "U64", "F8_E4M3", "F8_E5M2",
                                             "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64"};

const DTypeName& dtype_entry(DType t) {
  for (const auto& e : kDTypeNames)
    if (e.dtype == t) return e;
  throw Error("safetensors: unknown dtype");
}

DType dtype_from_name(const std::string& name, const std::string& tensor) {
  for (const auto& e : kDTypeNames)
    if (name == e.name) return e.dtype;
  for (const char* n : kUnsupportedNames)
    if (name == n)
      throw Error(str_cat("safetensors: tensor '", tensor, "' has dtype ", name,
                          ", which ember does not support (supported: F64, F32, I64, I32, I16, I8, U8, BOOL)"));
  throw Error(str_cat("safetensors: tensor '", tensor, "' has unknown dtype '", name, "'"));
}

// ---- JSON ---------------------------------------------------------------------------------

// A parsed JSON value; numbers keep their text so integers are checked exactly.
struct Json {
  enum class Kind { Null, Bool, Number, String, Array, Object } kind = Kind::Null;
  std::string text;  // string contents, or the number as written
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> members;  // in file order
};

const char* kind_name(Json::Kind k) {
  switch (k) {
    case Json::Kind::Null: return "null";
    case Json::Kind::Bool: return "a boolean";
    case Json::Kind::Number: return "a number";
    case Json::Kind::String: return "a string";
    case Json::Kind::Array: return "an array";
    case Json::Kind::Object: return "an object";
  }
  return "?";
}

class JsonParser {
 public:
  JsonParser(const char* p, size_t n) : p_(p), end_(p + n) {}

  Json parse_document() {
    Json v = value(0);
    skip_ws();
    if (p_ != end_) fail("unexpected characters after the header object");
    return v;
  }

 private:
  const char* p_;
  const char* const end_;
  const char* const begin_ = p_;

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(str_cat("safetensors: invalid JSON header at byte ", p_ - begin_, ": ", what));
  }
  void skip_ws() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  void expect(char c) {
    skip_ws();
    if (p_ == end_ || *p_ != c) fail(str_cat("expected '", c, "'"));
    ++p_;
  }
  bool literal(const char* word) {
    size_t n = std::strlen(word);
    if (static_cast<size_t>(end_ - p_) < n || std::memcmp(p_, word, n) != 0) return false;
    p_ += n;
    return true;
  }

  Json value(int depth) {
    if (depth > kMaxJsonDepth) fail("nesting is too deep");
    skip_ws();
    if (p_ == end_) fail("unexpected end of header");
    Json v;
    char c = *p_;
    if (c == '{') {
      v.kind = Json::Kind::Object;
      ++p_;
      skip_ws();
      if (p_ != end_ && *p_ == '}') { ++p_; return v; }
      while (true) {
        skip_ws();
        if (p_ == end_ || *p_ != '"') fail("expected a string key");
        std::string key = string();
        for (const auto& m : v.members)
          if (m.first == key) fail(str_cat("duplicate key '", key, "'"));
        expect(':');
        v.members.emplace_back(std::move(key), value(depth + 1));
        skip_ws();
        if (p_ != end_ && *p_ == ',') { ++p_; continue; }
        expect('}');
        return v;
      }
    }
    if (c == '[') {
      v.kind = Json::Kind::Array;
      ++p_;
      skip_ws();
      if (p_ != end_ && *p_ == ']') { ++p_; return v; }
      while (true) {
        v.items.push_back(value(depth + 1));
        skip_ws();
        if (p_ != end_ && *p_ == ',') { ++p_; continue; }
        expect(']');
        return v;
      }
    }
    if (c == '"') {
      v.kind = Json::Kind::String;
      v.text = string();
      return v;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      v.kind = Json::Kind::Number;
      v.text = number();
      return v;
    }
    if (literal("true") || literal("false")) { v.kind = Json::Kind::Bool; return v; }
    if (literal("null")) return v;
    fail(str_cat("unexpected character '", c, "'"));
  }

  std::string number() {
    const char* start = p_;
    if (*p_ == '-') ++p_;
    auto digits = [&] {
      const char* d = p_;
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
      if (p_ == d) fail("malformed number");
    };
    digits();
    if (p_ != end_ && *p_ == '.') { ++p_; digits(); }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      digits();
    }
    return std::string(start, p_);
  }

  unsigned hex4() {
    if (end_ - p_ < 4) fail("truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i, ++p_) {
      char h = *p_;
      v <<= 4;
      if (h >= '0' && h <= '9') v |= h - '0';
      else if (h >= 'a' && h <= 'f') v |= h - 'a' + 10;
      else if (h >= 'A' && h <= 'F') v |= h - 'A' + 10;
      else fail("invalid \\u escape");
    }
    return v;
  }

  static void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string string() {
    ++p_;  // opening quote
    std::string out;
    while (true) {
      if (p_ == end_) fail("unterminated string");
      unsigned char c = static_cast<unsigned char>(*p_++);
      if (c == '"') return out;
      if (c < 0x20) fail("control character in string");
      if (c != '\\') { out += static_cast<char>(c); continue; }
      if (p_ == end_) fail("unterminated string");
      char e = *p_++;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00) {  // a surrogate pair spells one code point
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') fail("unpaired surrogate in \\u escape");
            p_ += 2;
            unsigned lo = hex4();
            if (lo < 0xDC00 || lo >= 0xE000) fail("unpaired surrogate in \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp < 0xE000) {
            fail("unpaired surrogate in \\u escape");
          }
          append_utf8(out, cp);
          break;
        }
        default: fail(str_cat("invalid escape '\\", e, "'"));
      }
    }
  }
};

// JSON string literal, escaped as serde_json does (so headers match the safetensors package).
void write_json_string(std::string& out, const std::string& s) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 0xF];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

// A non-negative JSON integer that fits in uint64.
uint64_t json_uint(const Json& v, const std::string& what) {
  bool ok = v.kind == Json::Kind::Number && !v.text.empty() && v.text.size() <= 20 &&
            v.text.find_first_not_of("0123456789") == std::string::npos;
  uint64_t r = 0;
  if (ok) {
    for (char c : v.text) {
      uint64_t d = static_cast<uint64_t>(c - '0');
      if (r > (std::numeric_limits<uint64_t>::max() - d) / 10) { ok = false; break; }
      r = r * 10 + d;
    }
  }
  if (!ok) throw Error(str_cat("safetensors: ", what, " must be a non-negative integer, got ",
                               v.kind == Json::Kind::Number ? v.text : kind_name(v.kind)));
  return r;
}

// ---- header -------------------------------------------------------------------------------

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;  // byte offsets into the data section
};

struct Header {
  std::vector<Entry> entries;  // in file order
  std::map<std::string, std::string> metadata;
};

// Parses the JSON header and checks it against a data section of `data_len` bytes.
Header parse_header(const char* json, size_t n, uint64_t data_len) {
  if (n == 0 || json[0] != '{')
    throw Error("safetensors: invalid JSON header: the header must start with '{'");
  Json root = JsonParser(json, n).parse_document();
  if (root.kind != Json::Kind::Object) throw Error("safetensors: invalid JSON header: not an object");
  Header h;
  for (auto& [name, info] : root.members) {
    if (name == "__metadata__") {
      if (info.kind != Json::Kind::Object)
        throw Error(str_cat("safetensors: __metadata__ must be an object, got ", kind_name(info.kind)));
      for (auto& [k, v] : info.members) {
        if (v.kind != Json::Kind::String)
          throw Error(str_cat("safetensors: __metadata__ value of '", k, "' must be a string, got ",
                              kind_name(v.kind)));
        h.metadata[k] = v.text;
      }
      continue;
    }
    if (info.kind != Json::Kind::Object)
      throw Error(str_cat("safetensors: tensor '", name, "' must be described by an object, got ",
                          kind_name(info.kind)));
    const Json *dtype = nullptr, *shape = nullptr, *offsets = nullptr;
    for (auto& [k, v] : info.members) {
      if (k == "dtype") dtype = &v;
      else if (k == "shape") shape = &v;
      else if (k == "data_offsets") offsets = &v;
    }
    for (auto [field, ptr] : {std::make_pair("dtype", dtype), std::make_pair("shape", shape),
                              std::make_pair("data_offsets", offsets)})
      if (!ptr) throw Error(str_cat("safetensors: tensor '", name, "' has no '", field, "'"));
    if (dtype->kind != Json::Kind::String)
      throw Error(str_cat("safetensors: tensor '", name, "': dtype must be a string"));
    if (shape->kind != Json::Kind::Array)
      throw Error(str_cat("safetensors: tensor '", name, "': shape must be an array"));
    if (offsets->kind != Json::Kind::Array || offsets->items.size() != 2)
      throw Error(str_cat("safetensors: tensor '", name, "': data_offsets must be an array [begin, end]"));
    Entry e;
    e.name = name;
    e.dtype = dtype_from_name(dtype->text, name);
    for (auto& d : shape->items) {
      uint64_t s = json_uint(d, str_cat("shape of tensor '", name, "'"));
      if (s > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        throw Error(str_cat("safetensors: tensor '", name, "' has a dimension too large: ", s));
      e.shape.push_back(static_cast<int64_t>(s));
    }
    e.begin = json_uint(offsets->items[0], str_cat("data_offsets of tensor '", name, "'"));
    e.end = json_uint(offsets->items[1], str_cat("data_offsets of tensor '", name, "'"));
    if (e.begin > e.end)
      throw Error(str_cat("safetensors: tensor '", name, "' has data_offsets [", e.begin, ", ", e.end,
                          "] with begin after end"));
    if (e.end > data_len)
      throw Error(str_cat("safetensors: tensor '", name, "' has data_offsets [", e.begin, ", ", e.end,
                          "] out of range: the file holds ", data_len, " bytes of tensor data"));
    // numel * itemsize, refusing overflow instead of wrapping.
    uint64_t need = itemsize(e.dtype);
    for (int64_t s : e.shape)
      if (__builtin_mul_overflow(need, static_cast<uint64_t>(s), &need))
        throw Error(str_cat("safetensors: tensor '", name, "' of shape ", shape_str(e.shape), " is too large"));
    if (e.end - e.begin != need)
      throw Error(str_cat("safetensors: tensor '", name, "' of shape ", shape_str(e.shape), " and dtype ",
                          dtype->text, " needs ", need, " bytes but its data_offsets [", e.begin, ", ", e.end,
                          "] span ", e.end - e.begin));
    h.entries.push_back(std::move(e));
  }
  // The data section must be covered exactly once: sorted by offset, each tensor starts where
  // the previous one ends and the last one ends at the end of the file.
  std::vector<const Entry*> sorted;
  for (const auto& e : h.entries) sorted.push_back(&e);
  std::stable_sort(sorted.begin(), sorted.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t pos = 0;
  for (const Entry* e : sorted) {
    if (e->begin != pos)
      throw Error(str_cat("safetensors: tensor '", e->name, "' has data_offsets [", e->begin, ", ", e->end, "]: ",
                          e->begin < pos ? "it overlaps the previous tensor" : "it leaves a gap before it",
                          " (expected it to start at byte ", pos, ")"));
    pos = e->end;
  }
  if (pos != data_len)
    throw Error(str_cat("safetensors: the tensors cover ", pos, " bytes but the file holds ", data_len,
                        " bytes of tensor data"));
  return h;
}

uint64_t read_le64(const unsigned char* b) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | b[i];
  return v;
}

// Validates the 8-byte length prefix against the total size; returns the header length.
uint64_t checked_header_len(const unsigned char* prefix, uint64_t total) {
  uint64_t n = read_le64(prefix);
  if (n > kMaxHeaderBytes)
    throw Error(str_cat("safetensors: header length ", n, " is larger than the limit of ", kMaxHeaderBytes,
                        " bytes (not a safetensors file?)"));
  if (n > total - 8)
    throw Error(str_cat("safetensors: header length ", n, " runs past the end of the file (",
                        total, " bytes): the file is truncated or not a safetensors file"));
  return n;
}

void check_bool_bytes(const Tensor& t, const std::string& name) {
  if (t.dtype() != DType::Bool) return;
  const unsigned char* p = static_cast<const unsigned char*>(t.data_ptr());
  for (int64_t i = 0; i < t.numel(); ++i)
    if (p[i] > 1)
      throw Error(str_cat("safetensors: tensor '", name, "' of dtype BOOL holds the byte ", int(p[i]),
                          " at element ", i, " (expected 0 or 1)"));
}

// The header text and the tensors (made contiguous) in the order their bytes follow it.
struct Layout {
  std::string header;  // length prefix + JSON + padding
  std::vector<Tensor> data;  // contiguous tensors in file order
  uint64_t data_len = 0;
};

Layout plan_layout(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata) {
  std::vector<size_t> idx(tensors.size());
  for (size_t i = 0; i < idx.size(); ++i) {
    idx[i] = i;
    EMBER_CHECK_T(ValueError, tensors[i].second.defined(), "safetensors: tensor '", tensors[i].first, "' is undefined");
    EMBER_CHECK_T(ValueError, tensors[i].first != "__metadata__",
                  "safetensors: '__metadata__' is reserved and cannot name a tensor");
  }
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    int oa = dtype_entry(tensors[a].second.dtype()).order, ob = dtype_entry(tensors[b].second.dtype()).order;
    return oa != ob ? oa > ob : tensors[a].first < tensors[b].first;
  });
  for (size_t i = 1; i < idx.size(); ++i)
    EMBER_CHECK_T(ValueError, tensors[idx[i]].first != tensors[idx[i - 1]].first,
                  "safetensors: the tensor name '", tensors[idx[i]].first, "' appears twice");
  Layout L;
  std::string json = "{";
  if (!metadata.empty()) {
    json += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [k, v] : metadata) {
      if (!first) json += ',';
      first = false;
      write_json_string(json, k);
      json += ':';
      write_json_string(json, v);
    }
    json += '}';
  }
  for (size_t i : idx) {
    const auto& [name, t] = tensors[i];
    Tensor c = contiguous(detach(t));
    uint64_t nbytes = static_cast<uint64_t>(c.numel()) * c.element_size();
    if (json.size() > 1) json += ',';
    write_json_string(json, name);
    json += str_cat(":{\"dtype\":\"", dtype_entry(c.dtype()).name, "\",\"shape\":[");
    for (int64_t d = 0; d < c.dim(); ++d) json += str_cat(d ? "," : "", c.sizes()[d]);
    json += str_cat("],\"data_offsets\":[", L.data_len, ",", L.data_len + nbytes, "]}");
    L.data_len += nbytes;
    L.data.push_back(std::move(c));
  }
  json += '}';
  json.append((8 - json.size() % 8) % 8, ' ');
  uint64_t n = json.size();
  L.header.resize(8);
  for (int i = 0; i < 8; ++i) L.header[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  L.header += json;
  return L;
}

// Closes a file descriptor on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() { if (fd >= 0) ::close(fd); }
};

void write_all(int fd, const void* data, size_t n, const std::string& path) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) throw Error(str_cat("safetensors: writing '", path, "' failed: ", std::strerror(errno)));
    p += w;
    n -= static_cast<size_t>(w);
  }
}

}  // namespace

const char* safetensors_dtype_name(DType t) { return dtype_entry(t).name; }

std::string safetensors_serialize(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata) {
  Layout L = plan_layout(tensors, metadata);
  std::string out = std::move(L.header);
  out.reserve(out.size() + L.data_len);
  for (const Tensor& c : L.data)
    out.append(static_cast<const char*>(c.data_ptr()), static_cast<size_t>(c.numel()) * c.element_size());
  return out;
}

SafetensorsData safetensors_deserialize(const void* data, size_t nbytes) {
  const unsigned char* bytes = static_cast<const unsigned char*>(data);
  if (nbytes < 8)
    throw Error(str_cat("safetensors: the data is ", nbytes,
                        " bytes long, too short to hold the 8-byte header length"));
  uint64_t n = checked_header_len(bytes, nbytes);
  Header h = parse_header(reinterpret_cast<const char*>(bytes + 8), n, nbytes - 8 - n);
  const unsigned char* base = bytes + 8 + n;
  SafetensorsData out;
  out.metadata = std::move(h.metadata);
  for (auto& e : h.entries) {
    Tensor t = empty(e.shape, e.dtype);
    if (e.end > e.begin) std::memcpy(t.data_ptr(), base + e.begin, e.end - e.begin);
    check_bool_bytes(t, e.name);
    out.tensors.emplace_back(std::move(e.name), std::move(t));
  }
  return out;
}

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  Layout L = plan_layout(tensors, metadata);
  // A fresh temporary name in the destination's folder, so the final rename is atomic.
  std::random_device rd;
  std::string tmp;
  Fd f;
  for (int attempt = 0; attempt < 100 && f.fd < 0; ++attempt) {
    char suffix[32];
    std::snprintf(suffix, sizeof suffix, ".tmp%08x%08x", rd(), rd());
    tmp = path + suffix;
    f.fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (f.fd < 0 && errno != EEXIST)
      throw Error(str_cat("safetensors: cannot create '", tmp, "': ", std::strerror(errno)));
  }
  if (f.fd < 0) throw Error(str_cat("safetensors: cannot create a temporary file next to '", path, "'"));
  try {
    write_all(f.fd, L.header.data(), L.header.size(), tmp);
    for (const Tensor& c : L.data)
      write_all(f.fd, c.data_ptr(), static_cast<size_t>(c.numel()) * c.element_size(), tmp);
    if (::fsync(f.fd) != 0) throw Error(str_cat("safetensors: fsync of '", tmp, "' failed: ", std::strerror(errno)));
    int fd = f.fd;
    f.fd = -1;
    if (::close(fd) != 0) throw Error(str_cat("safetensors: closing '", tmp, "' failed: ", std::strerror(errno)));
    if (std::rename(tmp.c_str(), path.c_str()) != 0)
      throw Error(str_cat("safetensors: cannot rename '", tmp, "' to '", path, "': ", std::strerror(errno)));
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
}

SafetensorsData load_safetensors(const std::string& path) {
  Fd f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) throw Error(str_cat("safetensors: cannot open '", path, "': ", std::strerror(errno)));
  struct stat st;
  if (::fstat(f.fd, &st) != 0) throw Error(str_cat("safetensors: cannot stat '", path, "': ", std::strerror(errno)));
  uint64_t total = static_cast<uint64_t>(st.st_size);
  auto read_at = [&](void* dst, uint64_t n, uint64_t offset) {
    char* p = static_cast<char*>(dst);
    while (n > 0) {
      ssize_t r = ::pread(f.fd, p, n, static_cast<off_t>(offset));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0)
        throw Error(str_cat("safetensors: reading '", path, "' failed: ",
                            r == 0 ? "unexpected end of file" : std::strerror(errno)));
      p += r;
      n -= static_cast<uint64_t>(r);
      offset += static_cast<uint64_t>(r);
    }
  };
  if (total < 8)
    throw Error(str_cat("safetensors: '", path, "' is ", total,
                        " bytes long, too short to hold the 8-byte header length"));
  unsigned char prefix[8];
  read_at(prefix, 8, 0);
  uint64_t n = checked_header_len(prefix, total);
  std::string json(n, '\0');
  read_at(json.data(), n, 8);
  Header h = parse_header(json.data(), n, total - 8 - n);
  SafetensorsData out;
  out.metadata = std::move(h.metadata);
  for (auto& e : h.entries) {
    Tensor t = empty(e.shape, e.dtype);
    read_at(t.data_ptr(), e.end - e.begin, 8 + n + e.begin);
    check_bool_bytes(t, e.name);
    out.tensors.emplace_back(std::move(e.name), std::move(t));
  }
  return out;
}

Tensor tensor_from_storage(std::shared_ptr<Storage> storage, DType dtype, const Shape& sizes, const Shape& strides,
                           int64_t offset) {
  EMBER_CHECK(storage, "tensor_from_storage: no storage");
  EMBER_CHECK(sizes.size() == strides.size(), "tensor_from_storage: sizes ", shape_str(sizes), " and strides ",
              shape_str(strides), " have different lengths");
  EMBER_CHECK(offset >= 0, "tensor_from_storage: negative storage offset ", offset);
  for (size_t i = 0; i < sizes.size(); ++i)
    EMBER_CHECK(sizes[i] >= 0 && strides[i] >= 0, "tensor_from_storage: negative size or stride in sizes ",
                shape_str(sizes), ", strides ", shape_str(strides));
  int64_t numel = shape_numel(sizes);
  uint64_t capacity = storage->nbytes / itemsize(dtype);
  if (numel > 0) {
    // The last element addressed, computed without overflow.
    uint64_t last = static_cast<uint64_t>(offset), step = 0;
    bool overflow = false;
    for (size_t i = 0; i < sizes.size(); ++i) {
      overflow |= __builtin_mul_overflow(static_cast<uint64_t>(sizes[i] - 1), static_cast<uint64_t>(strides[i]), &step);
      overflow |= __builtin_add_overflow(last, step, &last);
    }
    EMBER_CHECK(!overflow && last < capacity, "tensor_from_storage: a tensor of sizes ", shape_str(sizes),
                ", strides ", shape_str(strides), " and offset ", offset, " needs more than the storage's ",
                capacity, " elements of ", dtype_name(dtype));
  }
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::move(storage);
  impl->offset = offset;
  impl->sizes = sizes;
  impl->strides = strides;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

}  // namespace ember
