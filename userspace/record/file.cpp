#include "record/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

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

namespace {

constexpr uint64_t kNone = UINT64_MAX;
constexpr size_t kDamageKept = 8;

bool known_type(uint16_t t) { return type_name(static_cast<Type>(t)) != "unknown"; }

std::string not_regular(mode_t m) {
  if (S_ISDIR(m)) return "is a directory";
  if (S_ISFIFO(m)) return "is a FIFO (named pipe), not a regular file: a recording is read from a file";
  if (S_ISCHR(m)) return "is a character device, not a regular file: a recording is read from a file";
  if (S_ISBLK(m)) return "is a block device, not a regular file: a recording is read from a file";
  if (S_ISSOCK(m)) return "is a socket, not a regular file: a recording is read from a file";
  return "is not a regular file: a recording is read from a file";
}

}  // namespace

Reader Reader::open_file(const std::string& path) {
  Reader r;
  // O_NONBLOCK: opening a FIFO for reading would wait for a writer.
  r.fd_.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  struct stat sb {};
  if (!r.fd_ || fstat(r.fd_.get(), &sb) != 0) {
    r.st_.error = fmt::format("cannot open: {}", strerror(errno));
  } else if (!S_ISREG(sb.st_mode)) {
    r.st_.error = not_regular(sb.st_mode);
  } else {
    r.st_.size = static_cast<uint64_t>(sb.st_size);
    r.check_header();
  }
  if (!r.st_.error.empty()) r.fd_.reset();
  return r;
}

Reader Reader::over(std::string_view bytes) {
  Reader r;
  r.mem_ = bytes;
  r.st_.size = bytes.size();
  r.check_header();
  return r;
}

bool Reader::read_at(uint64_t off, size_t n, char* dst) const {
  if (off > st_.size || st_.size - off < n) return false;
  if (!fd_) {
    std::memcpy(dst, mem_.data() + off, n);
    return true;
  }
  size_t done = 0;
  while (done < n) {
    ssize_t got = ::pread(fd_.get(), dst + done, n - done, static_cast<off_t>(off + done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;  // shrunk under us, or an I/O error: read as the end
    done += static_cast<size_t>(got);
  }
  return true;
}

void Reader::check_header() {
  char h[kHeaderSize];
  const size_t have = static_cast<size_t>(std::min<uint64_t>(st_.size, kHeaderSize));
  if (!read_at(0, have, h)) {
    st_.error = fmt::format("cannot read the header: {}", strerror(errno));
  } else if (have == 0) {
    st_.error = fmt::format("is empty: no header (0 of {} bytes)", kHeaderSize);
  } else if (std::memcmp(h, kMagic, std::min(have, sizeof kMagic)) != 0) {
    st_.error = "not a pgstall recording (bad magic)";
  } else if (have < kHeaderSize) {
    st_.error = fmt::format(
        "the header is incomplete ({} of {} bytes): the recorder stopped while writing it, or the copy is cut "
        "short; it holds no record",
        have, kHeaderSize);
  } else if ((st_.version = get_u32(h + 8)) != kVersion) {
    st_.error = fmt::format("recording format version {} is not readable by this pgstall (reads version {})",
                            st_.version, kVersion);
  }
  off_ = st_.error.empty() ? kHeaderSize : st_.size;
}

// A record that could have been written as it is: sane header, every byte
// present, checksum right. The false positive rate is about 2^-48 (reserved
// zero and a CRC-32 match).
bool Reader::whole_record_at(uint64_t off) const {
  char h[kRecordHeaderSize];
  if (!read_at(off, kRecordHeaderSize, h)) return false;
  const uint32_t len = get_u32(h);
  if (len > kMaxRecord || !known_type(get_u16(h + 4)) || get_u16(h + 6) != 0) return false;
  if (st_.size - off - kRecordHeaderSize < len) return false;
  uLong sum = crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(h + 4), 4);
  char chunk[64 << 10];
  for (uint64_t at = off + kRecordHeaderSize, left = len; left > 0;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(left, sizeof chunk));
    if (!read_at(at, n, chunk)) return false;
    sum = crc32(sum, reinterpret_cast<const Bytef*>(chunk), static_cast<uInt>(n));
    at += n, left -= n;
  }
  return static_cast<uint32_t>(sum) == get_u32(h + 8);
}

// The first whole record at or after `from`, scanning byte by byte through
// a window; kNone when there is none before the end.
uint64_t Reader::find_record(uint64_t from) const {
  std::string win(1 << 20, '\0');
  for (uint64_t base = from; base + kRecordHeaderSize <= st_.size;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(win.size(), st_.size - base));
    if (!read_at(base, n, win.data())) return kNone;
    for (size_t i = 0; i + kRecordHeaderSize <= n; ++i) {
      const char* p = win.data() + i;
      if (get_u16(p + 6) == 0 && known_type(get_u16(p + 4)) && get_u32(p) <= kMaxRecord &&
          whole_record_at(base + i))
        return base + i;
    }
    base += n - kRecordHeaderSize + 1;
  }
  return kNone;
}

// The record at off_ is damaged. Reading goes on where it says it ends if a
// whole record is there (only its contents were hit), else at the next whole
// record found by scanning (its length was hit too), else nowhere.
void Reader::skip_damage(uint64_t end_if_aligned, std::string why) {
  uint64_t next = end_if_aligned;
  if (next == kNone || (next != st_.size && !whole_record_at(next))) next = find_record(off_ + 1);
  if (next == kNone) next = st_.size;
  if (st_.damage.size() < kDamageKept) st_.damage.push_back({off_, next - off_, std::move(why)});
  ++st_.damaged;
  st_.damaged_bytes += next - off_;
  damaged_ = true;
  off_ = next;
}

bool Reader::next(Record& r) {
  while (off_ < st_.size) {
    char h[kRecordHeaderSize];
    if (st_.size - off_ < kRecordHeaderSize || !read_at(off_, kRecordHeaderSize, h)) {
      st_.truncated = true;
      st_.tail_offset = off_, st_.tail_have = st_.size - off_, st_.tail_need = kRecordHeaderSize;
      off_ = st_.size;
      break;
    }
    const uint32_t len = get_u32(h);
    const uint16_t type = get_u16(h + 4);
    if (len > kMaxRecord) {
      skip_damage(kNone, fmt::format("impossible length {}", len));
      continue;
    }
    if (st_.size - off_ - kRecordHeaderSize < len) {
      // Runs past the end: a cut tail, unless whole records follow it (then
      // its length is what was damaged).
      if (find_record(off_ + 1) == kNone) {
        st_.truncated = true;
        st_.tail_offset = off_, st_.tail_have = st_.size - off_, st_.tail_need = kRecordHeaderSize + len;
        off_ = st_.size;
        break;
      }
      skip_damage(kNone, fmt::format("length {} runs past the end of the file, yet whole records follow", len));
      continue;
    }
    const uint64_t end = off_ + kRecordHeaderSize + len;
    buf_.resize(len);
    if (!read_at(off_ + kRecordHeaderSize, len, buf_.data())) {
      st_.truncated = true;
      st_.tail_offset = off_, st_.tail_have = st_.size - off_, st_.tail_need = kRecordHeaderSize + len;
      off_ = st_.size;
      break;
    }
    uLong sum = crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(h + 4), 4);
    sum = crc32(sum, reinterpret_cast<const Bytef*>(buf_.data()), static_cast<uInt>(len));
    if (static_cast<uint32_t>(sum) != get_u32(h + 8) || get_u16(h + 6) != 0) {
      skip_damage(end, "checksum mismatch");
      continue;
    }
    r.type = static_cast<Type>(type);
    r.offset = off_;
    r.body = nlohmann::json();
    if (!decode_payload(buf_, r.body)) {
      skip_damage(end, "payload is not a CBOR object");
      continue;
    }
    off_ = end;
    ++st_.records;
    if (damaged_) ++st_.records_after_damage;
    if (!known_type(type)) {
      ++st_.unknown_types;
      continue;
    }
    if (buf_.capacity() > (1u << 20)) std::string().swap(buf_);  // one huge record does not pin its size
    return true;
  }
  return false;
}

std::vector<std::string> describe(const ReadStatus& s) {
  std::vector<std::string> out;
  for (const auto& d : s.damage) {
    const bool to_end = d.offset + d.bytes == s.size;
    out.push_back(fmt::format("corrupt record at offset {} ({}): {}", d.offset, d.why,
                              to_end ? fmt::format("no whole record follows it; the rest of the file ({} bytes) "
                                                   "was not read",
                                                   d.bytes)
                                     : fmt::format("skipped {} bytes to the next whole record, and read on", d.bytes)));
  }
  if (s.damaged > s.damage.size())
    out.push_back(fmt::format("{} more corrupt stretches skipped", s.damaged - s.damage.size()));
  if (s.damaged)
    out.push_back(fmt::format("{} bytes skipped as corrupt in all; {} whole records after the first damage were read",
                              s.damaged_bytes, s.records_after_damage));
  if (s.truncated)
    out.push_back(fmt::format(
        "the file ends inside the record at offset {} ({} of {}{} bytes): the recorder stopped mid-record (killed, "
        "or the disk filled) or the copy is cut short; everything before it was read",
        s.tail_offset, s.tail_have, s.tail_need == kRecordHeaderSize ? "at least " : "", s.tail_need));
  if (s.unknown_types) out.push_back(fmt::format("{} records of a newer format skipped", s.unknown_types));
  return out;
}

Contents parse(std::string_view bytes) {
  Contents c;
  auto reader = Reader::over(bytes);
  for (Record r; reader.next(r);) c.records.push_back(std::move(r));
  static_cast<ReadStatus&>(c) = reader.status();
  return c;
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
