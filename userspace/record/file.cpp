#include "record/file.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

namespace pgstall::record {
namespace {

void put_u32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v & 0xff));
  s.push_back(static_cast<char>(v >> 8));
}
uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
uint16_t get_u16(const char* p) {
  return static_cast<uint16_t>(static_cast<unsigned char>(p[0]) | (static_cast<unsigned char>(p[1]) << 8));
}
uint32_t crc(const char* p, size_t n) {
  return static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(p), static_cast<uInt>(n)));
}

// CBOR into JSON with nesting capped: a damaged or hostile payload of nested
// arrays would otherwise recurse the decoder off the stack.
class DepthCappedSax {
 public:
  using json = nlohmann::json;
  explicit DepthCappedSax(json& out) : dom_(out, false) {}
  bool null() { return dom_.null(); }
  bool boolean(bool v) { return dom_.boolean(v); }
  bool number_integer(json::number_integer_t v) { return dom_.number_integer(v); }
  bool number_unsigned(json::number_unsigned_t v) { return dom_.number_unsigned(v); }
  bool number_float(json::number_float_t v, const json::string_t& s) { return dom_.number_float(v, s); }
  bool string(json::string_t& v) { return dom_.string(v); }
  bool binary(json::binary_t& v) { return dom_.binary(v); }
  bool start_object(std::size_t n) { return ++depth_ <= kMaxDepth && dom_.start_object(n); }
  bool key(json::string_t& k) { return dom_.key(k); }
  bool end_object() { return --depth_, dom_.end_object(); }
  bool start_array(std::size_t n) { return ++depth_ <= kMaxDepth && dom_.start_array(n); }
  bool end_array() { return --depth_, dom_.end_array(); }
  bool parse_error(std::size_t pos, const std::string& tok, const nlohmann::detail::exception& e) {
    return dom_.parse_error(pos, tok, e);
  }

 private:
  static constexpr int kMaxDepth = 64;
  nlohmann::detail::json_sax_dom_parser<json> dom_;
  int depth_ = 0;
};

}  // namespace

bool decode_payload(std::string_view payload, nlohmann::json& out) {
  try {
    DepthCappedSax sax(out);
    return nlohmann::json::sax_parse(payload.begin(), payload.end(), &sax, nlohmann::json::input_format_t::cbor,
                                     true) &&
           out.is_object();
  } catch (const std::exception&) {
    return false;
  }
}

std::string_view type_name(Type t) {
  switch (t) {
    case Type::Meta: return "meta";
    case Type::Process: return "process";
    case Type::Event: return "event";
    case Type::Snapshot: return "snapshot";
    case Type::Stacks: return "stacks";
    case Type::Counters: return "counters";
    case Type::End: return "end";
    case Type::Symbols: return "symbols";
  }
  return "unknown";
}

std::string header() {
  std::string h(kMagic, sizeof kMagic);
  put_u32(h, kVersion);
  put_u32(h, 0);
  return h;
}

std::string encode(Type type, const nlohmann::json& body) {
  std::vector<uint8_t> payload = nlohmann::json::to_cbor(body);
  std::string covered;
  put_u16(covered, static_cast<uint16_t>(type));
  put_u16(covered, 0);
  covered.append(reinterpret_cast<const char*>(payload.data()), payload.size());
  std::string out;
  put_u32(out, static_cast<uint32_t>(payload.size()));
  out += covered.substr(0, 4);
  put_u32(out, crc(covered.data(), covered.size()));
  out.append(covered, 4, std::string::npos);
  return out;
}

Contents parse(std::string_view b) {
  Contents c;
  if (b.size() < kHeaderSize) {
    if (std::memcmp(b.data(), kMagic, std::min(b.size(), sizeof kMagic)) != 0)
      c.error = "not a pgstall recording (no header)";
    else
      c.truncated = true;  // a recorder killed before its header was out
    return c;
  }
  if (std::memcmp(b.data(), kMagic, sizeof kMagic) != 0) {
    c.error = "not a pgstall recording (bad magic)";
    return c;
  }
  c.version = get_u32(b.data() + 8);
  if (c.version != kVersion) {
    c.error = fmt::format("recording format version {} is not readable by this pgstall (reads version {})",
                          c.version, kVersion);
    return c;
  }
  uint64_t off = kHeaderSize;
  while (off < b.size()) {
    if (b.size() - off < kRecordHeaderSize) {
      c.truncated = true;
      break;
    }
    const char* p = b.data() + off;
    const uint32_t len = get_u32(p);
    const uint16_t type = get_u16(p + 4);
    const uint16_t reserved = get_u16(p + 6);
    const uint32_t sum = get_u32(p + 8);
    if (len > kMaxRecord) {
      c.error = fmt::format("record at offset {}: impossible length {}", off, len);
      c.error_offset = off;
      break;
    }
    if (b.size() - off - kRecordHeaderSize < len) {
      c.truncated = true;
      break;
    }
    std::string covered(p + 4, 4);
    covered.append(p + kRecordHeaderSize, len);
    if (crc(covered.data(), covered.size()) != sum || reserved != 0) {
      c.error = fmt::format("record at offset {}: checksum mismatch (damaged file)", off);
      c.error_offset = off;
      break;
    }
    Record r;
    r.type = static_cast<Type>(type);
    r.offset = off;
    if (!decode_payload(std::string_view(p + kRecordHeaderSize, len), r.body)) {
      c.error = fmt::format("record at offset {}: payload is not a CBOR object", off);
      c.error_offset = off;
      break;
    }
    off += kRecordHeaderSize + len;
    if (type_name(r.type) == "unknown") {
      ++c.unknown_types;
      continue;
    }
    c.records.push_back(std::move(r));
  }
  return c;
}

Contents read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    Contents c;
    c.error = fmt::format("cannot open {}: {}", path, strerror(errno));
    return c;
  }
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return parse(bytes);
}

Writer::~Writer() {
  // A recording cut short is still a recording: keep it.
  if (out_.is_open()) (void)out_.commit();
}

bool Writer::put(const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(out_.fd(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error_ = fmt::format("write failed: {}", strerror(errno));
      return false;
    }
    done += static_cast<size_t>(n);
  }
  bytes_ += bytes.size();
  return true;
}

Result<void> Writer::open(OutFile file, const nlohmann::json& meta) {
  out_ = std::move(file);
  if (!put(header()) || !write(Type::Meta, meta)) {
    out_.abort();  // nothing worth keeping yet
    return fail(fmt::format("{}: {}", out_.path(), error_));
  }
  return {};
}

Result<void> Writer::open(const std::string& path, const nlohmann::json& meta) {
  auto file = OutFile::create(path, OutFile::Where::InPlace);
  if (!file) return file.error();
  return open(std::move(*file), meta);
}

bool Writer::write(Type type, const nlohmann::json& body) {
  if (!out_.is_open()) {
    error_ = "not open";
    return false;
  }
  if (!put(encode(type, body))) return false;
  ++records_;
  return true;
}

bool Writer::close(const nlohmann::json& end_body) {
  bool ok = write(Type::End, end_body);
  if (!out_.is_open()) return ok;
  if (auto closed = out_.commit(); !closed && ok) {
    error_ = closed.error().message;
    ok = false;
  }
  return ok;
}

}  // namespace pgstall::record
