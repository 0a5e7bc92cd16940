// The flame-graph SVG in a real browser: Debian's Chromium, headless, takes a
// screenshot; the screenshot must show the frames (coloured pixels where the
// frames are), not an empty or broken page.
#include <png.h>
#include <unistd.h>

#include <fstream>

#include "flame/flame.h"
#include "harness.h"

using namespace pgstall::itest;

namespace {

struct Image {
  unsigned width = 0, height = 0;
  std::vector<uint8_t> rgba;
};

bool read_png(const std::string& path, Image& img, std::string& err) {
  png_image pi{};
  pi.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&pi, path.c_str())) {
    err = pi.message;
    return false;
  }
  pi.format = PNG_FORMAT_RGBA;
  img.width = pi.width;
  img.height = pi.height;
  img.rgba.resize(PNG_IMAGE_SIZE(pi));
  if (!png_image_finish_read(&pi, nullptr, img.rgba.data(), 0, nullptr)) {
    err = pi.message;
    return false;
  }
  return true;
}

}  // namespace

TEST(RenderTest, ChromiumDrawsTheFlameGraph) {
  const std::string chromium = "/usr/bin/chromium";
  ASSERT_EQ(access(chromium.c_str(), X_OK), 0) << chromium << " missing: scripts/deps.sh --tests installs it";
  std::vector<pgstall::flame::Stack> stacks;
  for (int i = 0; i < 12; ++i)
    stacks.push_back({{"client backend", "PostgresMain", "exec_simple_query", "frame" + std::to_string(i)},
                      static_cast<uint64_t>(1000 + 100 * i), i % 2 ? "Lock" : "IO"});
  pgstall::flame::SvgOptions o;
  o.width = 800;
  o.title = "render test";
  const std::string dir = "/tmp/pgstall-render-" + std::to_string(getpid());
  ASSERT_EQ(run("mkdir -p " + dir + "/profile").status, 0);
  {
    std::ofstream f(dir + "/flame.svg");
    f << pgstall::flame::to_svg(stacks, o);
  }
  // The flags this machine needs: no sandbox as root, no network chatter.
  auto r = run("timeout 60 " + chromium +
               " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
               " --disable-background-networking --disable-component-update --disable-sync"
               " --user-data-dir=" + dir + "/profile --window-size=800,200 --screenshot=" + dir +
               "/shot.png file://" + dir + "/flame.svg");
  ASSERT_EQ(r.status, 0) << r.err;
  Image img;
  std::string err;
  ASSERT_TRUE(read_png(dir + "/shot.png", img, err)) << err << "\n" << r.err;
  ASSERT_EQ(img.width, 800u);
  // The frames: 4 rows of 16 px from 30 px above the bottom of the SVG
  // (height 60 + 5*16 + 30 = 170 px). Count coloured (not grey, not
  // background) pixels in the row of the leaf frames.
  const unsigned svg_h = 60 + 5 * 16 + 30;
  ASSERT_GE(img.height, svg_h);
  const unsigned y = svg_h - 30 - 4 * 16 - 8;  // middle of the leaf row (depth 4)
  unsigned coloured = 0;
  for (unsigned x = 0; x < img.width; ++x) {
    const uint8_t* px = &img.rgba[(y * img.width + x) * 4];
    const int mx = std::max({px[0], px[1], px[2]}), mn = std::min({px[0], px[1], px[2]});
    if (mx - mn > 40) ++coloured;  // saturated: a frame's fill, not text, grey or background
  }
  EXPECT_GT(coloured, img.width / 2) << "the leaf row is not drawn (" << coloured << " coloured pixels of "
                                      << img.width << ")";
  run("rm -rf " + dir);
}
