// SPDX-License-Identifier: Apache-2.0
#include "patchflow/common/progress.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace {

std::string drain(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

TEST(Progress, SilentWhenNotATerminal) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_NONBLOCK), 0);
  {
    pf::progress::Bar bar("import", 100, pf::progress::Unit::items, fds[1]);
    EXPECT_FALSE(bar.enabled());
    bar.advance(50);
  }
  ::close(fds[1]);
  EXPECT_EQ(drain(fds[0]), "");
  ::close(fds[0]);
}

TEST(Progress, DrawsCountPercentageAndErasesItsLine) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_NONBLOCK), 0);
  {
    pf::progress::Bar bar("import osv", 2048, pf::progress::Unit::bytes, fds[1], true);
    bar.advance(1024);
    EXPECT_EQ(bar.line().substr(0, 32), "import osv  1.0 KiB / 2.0 KiB  5");
    bar.finish();
  }
  ::close(fds[1]);
  const std::string out = drain(fds[0]);
  ::close(fds[0]);
  EXPECT_NE(out.find("\rimport osv  1.0 KiB / 2.0 KiB  50%"), std::string::npos) << out;
  EXPECT_TRUE(out.ends_with("\r\033[K")) << "the line is erased when done";
}

TEST(Progress, UnknownTotalShowsNoPercentage) {
  pf::progress::Bar bar("scan", 0, pf::progress::Unit::items, 2, false);
  bar.set(42);
  EXPECT_EQ(bar.line().substr(0, 8), "scan  42");
  EXPECT_EQ(bar.line().find('%'), std::string::npos);
}

}  // namespace
