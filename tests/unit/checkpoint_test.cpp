#include "model/checkpoint.h"

#include <gtest/gtest.h>

namespace pgstall::model {
namespace {

TEST(Checkpoint, FlagsInTheServerLogsWords) {
  EXPECT_EQ(checkpoint_flags_text(0x0004 | 0x0008 | 0x0020), "immediate force wait");  // CHECKPOINT command
  EXPECT_EQ(checkpoint_flags_text(0x0100), "time");
  EXPECT_EQ(checkpoint_flags_text(0x0080), "wal");
  EXPECT_EQ(checkpoint_flags_text(0x0001 | 0x0004), "shutdown immediate");
  EXPECT_EQ(checkpoint_flags_text(0), "");
  EXPECT_EQ(checkpoint_flags_text(0x0100 | 0x8000), "time 0x8000");
}

TEST(Checkpoint, PhasesAndDurations) {
  CheckpointTimes t;
  EXPECT_FALSE(checkpoint_phase(t));
  EXPECT_EQ(checkpoint_durations(t), "started before pgstall");
  t.start_ns = 1'000'000'000;
  EXPECT_EQ(checkpoint_phase(t), "starting");
  t.write_ns = 1'100'000'000;
  EXPECT_EQ(checkpoint_phase(t), "writing buffers");
  t.sync_ns = 3'900'000'000;
  EXPECT_EQ(checkpoint_phase(t), "syncing files");
  t.buffers_done_ns = 4'200'000'000;
  EXPECT_EQ(checkpoint_phase(t), "finishing");
  t.done_ns = 4'300'000'000;
  EXPECT_EQ(checkpoint_phase(t), "done");
  EXPECT_EQ(checkpoint_durations(t), "3.3s: start 0.1s, write 2.8s, sync 0.3s, rest 0.1s");
}

}  // namespace
}  // namespace pgstall::model
