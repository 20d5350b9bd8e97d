// The safetensors reader/writer through the public C++ API: exact bytes of a small file (as the
// safetensors package writes it), round trips of every dtype through memory and disk, and
// malformed files rejected with ember::Error.
#include <cstdio>
#include <cstring>
#include <string>
#include <unistd.h>
#include "ember/ember.h"

using namespace ember;

static int failures = 0;
static void expect(bool ok, const char* what) {
  if (!ok) {
    std::printf("FAILED: %s\n", what);
    ++failures;
  }
}

// True when parsing `bytes` throws ember::Error whose message contains `needle`.
static bool rejects(const std::string& bytes, const char* needle) {
  try {
    safetensors_deserialize(bytes.data(), bytes.size());
  } catch (const Error& e) {
    if (std::strstr(e.what(), needle)) return true;
    std::printf("  unexpected message: %s\n", e.what());
    return false;
  }
  return false;
}

static std::string with_header(const std::string& json, const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return out + json + data;
}

int main() {
  // The exact bytes safetensors.numpy.save({"b": int8 [1, 2], "a": float32 [1.0]}) produces.
  {
    Tensor a = full({1}, Scalar(1.0), DType::Float32);
    Tensor b = empty({2}, DType::Int8);
    b.data<int8_t>()[0] = 1;
    b.data<int8_t>()[1] = 2;
    std::string json =
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
        "\"b\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[4,6]}}      ";
    std::string expected = with_header(json, std::string("\x00\x00\x80\x3f\x01\x02", 6));
    expect(safetensors_serialize({{"b", b}, {"a", a}}) == expected, "serialize matches the safetensors package");
  }

  // Every dtype, a 0-dim and an empty tensor, through memory and through a file.
  {
    NamedTensors in;
    const DType all[] = {DType::Bool,  DType::UInt8, DType::Int8,    DType::Int16,
                         DType::Int32, DType::Int64, DType::Float32, DType::Float64};
    for (DType t : all) {
      Tensor x = empty({2, 3}, t);
      auto* p = static_cast<unsigned char*>(x.data_ptr());
      for (size_t i = 0; i < 6 * itemsize(t); ++i)
        p[i] = t == DType::Bool ? (i % 2) : static_cast<unsigned char>(i * 7 + 1);
      in.emplace_back(dtype_name(t), x);
    }
    in.emplace_back("scalar", full({}, Scalar(2.5), DType::Float64));
    in.emplace_back("empty", empty({0, 4}, DType::Float32));
    std::map<std::string, std::string> meta{{"format", "pt"}, {"note", "a \"quoted\"\nline"}};

    auto same = [&](const SafetensorsData& d) {
      if (d.tensors.size() != in.size() || d.metadata != meta) return false;
      for (const auto& [name, x] : in) {
        bool found = false;
        for (const auto& [n2, y] : d.tensors) {
          if (n2 != name) continue;
          found = y.dtype() == x.dtype() && y.sizes() == x.sizes() &&
                  std::memcmp(y.data_ptr(), x.data_ptr(), x.numel() * x.element_size()) == 0;
        }
        if (!found) return false;
      }
      return true;
    };
    std::string bytes = safetensors_serialize(in, meta);
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<unsigned char>(bytes[i]);
    // 6 elements of each dtype (1+1+1+2+4+8+4+8 bytes each), then the 0-dim float64.
    expect(header_len % 8 == 0 && bytes.size() == 8 + header_len + 6 * 29 + 8, "header padded, data packed");
    expect(same(safetensors_deserialize(bytes.data(), bytes.size())), "round trip through memory");

    char dir[] = "/tmp/ember_safetensors_XXXXXX";
    if (mkdtemp(dir)) {
      std::string path = std::string(dir) + "/m.safetensors";
      save_safetensors(path, in, meta);
      expect(same(load_safetensors(path)), "round trip through a file");
      std::remove(path.c_str());
      rmdir(dir);
    } else {
      expect(false, "temporary directory");
    }
  }

  // Malformed files.
  {
    std::string f32 = "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    expect(rejects(std::string("\x01\x02", 2), "too short"), "short file");
    expect(rejects(with_header("{}", "").substr(0, 8) + "{", "runs past the end"), "header past the end");
    expect(rejects(std::string("\xff\xff\xff\xff\x00\x00\x00\x00{}", 10), "larger than the limit"), "huge header");
    expect(rejects(with_header("{\"x\":", ""), "unexpected end of header"), "truncated JSON");
    expect(rejects(with_header("{\"x\":{\"dtype\":\"Q4\",\"shape\":[],\"data_offsets\":[0,0]}}", ""),
                   "unknown dtype 'Q4'"),
           "unknown dtype");
    expect(rejects(with_header(f32, std::string(4, '\0')), "out of range"), "offsets out of range");
    expect(rejects(with_header("{\"a\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[0,2]},"
                               "\"b\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[1,3]}}", std::string(3, '\0')),
                   "overlaps"),
           "overlapping offsets");
    expect(rejects(with_header(f32, std::string(9, '\0')), "cover 8 bytes"), "uncovered bytes");
    expect(rejects(with_header("{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}",
                               std::string(8, '\0')),
                   "needs 12 bytes"),
           "shape and offsets disagree");
    bool threw = false;
    try {
      load_safetensors("/nonexistent/dir/m.safetensors");
    } catch (const Error&) {
      threw = true;
    }
    expect(threw, "missing file");
  }

  // Geometry over a storage is checked against its size.
  {
    Tensor base = empty({6}, DType::Float32);
    Tensor v = tensor_from_storage(base.storage(), DType::Float32, {2, 2}, {1, 2}, 2);
    expect(v.data<float>() == base.data<float>() + 2, "view over a storage");
    bool threw = false;
    try {
      tensor_from_storage(base.storage(), DType::Float64, {4}, {1}, 0);
    } catch (const Error&) {
      threw = true;
    }
    expect(threw, "view past the end of the storage");
  }

  if (failures) return 1;
  std::printf("test_safetensors: all passed\n");
  return 0;
}
