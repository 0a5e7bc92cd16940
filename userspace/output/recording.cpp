#include "output/recording.h"

#include <sys/utsname.h>
#include <unistd.h>

#include "util/clock.h"

namespace pgstall::output {

nlohmann::json recording_meta(const RecordingFacts& f, const Clock& clock) {
  utsname u{};
  uname(&u);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return {{"pgstall", f.pgstall_version},
          {"host", host},
          {"kernel", u.release},
          {"machine", u.machine},
          {"started", clock.rfc3339(monotonic_ns())},
          {"realtime_minus_monotonic_ns", clock.offset_ns()},
          {"oncpu_hz", f.oncpu_hz},
          {"stacks", f.stacks},
          {"usdt", f.usdt},
          {"thresholds", f.thresholds}};
}

}  // namespace pgstall::output
