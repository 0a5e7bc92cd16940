// libFuzzer target: the recording reader and the report on arbitrary bytes.
// Any input must give records or a clear error, never a crash, a hang or a
// sanitizer report. Built and run briefly (test fuzz.record) by scripts/test.sh (clang
// -fsanitize=fuzzer,address,undefined).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "record/file.h"
#include "record/report.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // The file as a whole, behind a valid header too (else almost every input
  // stops at the magic).
  auto c = pgstall::record::parse(bytes);
  std::string with_header = pgstall::record::header();
  with_header.append(bytes);
  auto c2 = pgstall::record::parse(with_header);
  for (const auto* x : {&c, &c2}) {
    auto r = pgstall::record::load(*x);
    (void)pgstall::record::report_text(r, 5);
    if (auto stacks = pgstall::record::select_stacks(r, "offcpu")) (void)pgstall::flame::to_svg(*stacks, {});
  }
  // A payload that passed its checksum: the CBOR decoder and what reads it.
  nlohmann::json body;
  if (pgstall::record::decode_payload(bytes, body)) {
    std::string f = pgstall::record::header() + pgstall::record::encode(pgstall::record::Type::Meta, {{"pgstall", "f"}}) +
                    pgstall::record::encode(pgstall::record::Type::Stacks, {{"entries", {body}}}) +
                    pgstall::record::encode(pgstall::record::Type::Event, body);
    auto r = pgstall::record::load(pgstall::record::parse(f));
    (void)pgstall::record::report_text(r, 5);
    (void)pgstall::record::report_json(r, 5);
    if (auto stacks = pgstall::record::select_stacks(r, "lock")) {
      (void)pgstall::flame::to_svg(*stacks, {});
      (void)pgstall::flame::to_speedscope(*stacks, "f", "nanoseconds");
    }
  }
  return 0;
}
