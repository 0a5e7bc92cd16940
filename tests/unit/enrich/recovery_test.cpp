// Recovery's progress from the startup process' titles: the segment it
// replays and for how long, how many it finished lately; words for a stall
// on it and for its live-view row.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "detect/fixtures.h"
#include "enrich/recovery.h"

using namespace pgstall;
using namespace pgstall::testing;

namespace {

model::Snapshot startup(const std::string& detail) {
  model::Snapshot s;
  s.pid = 900;
  s.title.type = model::BackendType::Startup;
  s.title.detail = detail;
  return s;
}

}  // namespace

TEST(Recovery, SegmentsFromTheTitle) {
  bool waiting = false;
  EXPECT_EQ(enrich::segment_of("recovering 00000001000000A2000000F3", waiting), "00000001000000A2000000F3");
  EXPECT_FALSE(waiting);
  EXPECT_EQ(enrich::segment_of("waiting for 00000001000000A2000000F4", waiting), "00000001000000A2000000F4");
  EXPECT_TRUE(waiting);
  EXPECT_EQ(enrich::segment_of("recovering 0000000100000", waiting), "");
  EXPECT_EQ(enrich::segment_of("idle", waiting), "");
}

TEST(Recovery, ProgressingAndStuckAreToldApart) {
  enrich::RecoveryProgress r;
  // A segment every 4 s for 40 s.
  for (uint64_t t = kT0; t <= kT0 + 40 * kSec; t += kSec / 10) {
    const int seg = static_cast<int>((t - kT0) / (4 * kSec));
    r.observe(t, {startup(fmt::format("recovering 0000000100000000000000{:02X}", 0x10 + seg))});
  }
  auto p = r.of(900, kT0 + 40 * kSec);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->segment, "00000001000000000000001A");
  EXPECT_EQ(p->recent, 10u);
  EXPECT_NEAR(p->on_segment_s, 0.0, 0.2);
  EXPECT_EQ(*r.describe(900, kT0 + 40 * kSec),
            "replaying 00000001000000000000001A for 0 s; 10 segments in the last 40 s");
  // Then stuck on it for a minute.
  for (uint64_t t = kT0 + 40 * kSec; t <= kT0 + 100 * kSec; t += kSec / 10)
    r.observe(t, {startup("recovering 00000001000000000000001A")});
  detect::Stall st;
  st.pid = 900;
  st.kind = "io-slow";
  r.annotate(st, kT0 + 100 * kSec);
  EXPECT_EQ(st.detail["recovery"]["segment"], "00000001000000000000001A");
  EXPECT_NEAR(st.detail["recovery"]["on_segment_s"].get<double>(), 60.0, 0.2);
  EXPECT_NE(st.summary.find("; recovery: replaying 00000001000000000000001A for 60 s; 10 segments in the last 100 s"),
            std::string::npos)
      << st.summary;
  // Seen on a segment from the start: how long it has been there is a lower bound.
  enrich::RecoveryProgress fresh;
  fresh.observe(kT0, {startup("recovering 000000010000000000000003")});
  fresh.observe(kT0 + 20 * kSec, {startup("recovering 000000010000000000000003")});
  EXPECT_EQ(*fresh.describe(900, kT0 + 20 * kSec),
            "replaying 000000010000000000000003 for ≥20 s; no segment finished in the last 20 s");
  // Gone: forgotten.
  fresh.observe(kT0 + 21 * kSec, {});
  EXPECT_FALSE(fresh.of(900, kT0 + 21 * kSec));
}
