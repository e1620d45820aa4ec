// SPDX-License-Identifier: Apache-2.0
#include "patchflow/common/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace pf::progress {
namespace {

std::string human(double value, Unit unit) {
  char buf[32];
  if (unit == Unit::bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (value >= 1024 && u < 4) {
      value /= 1024;
      ++u;
    }
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", value, units[u]);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f", value);
  }
  return buf;
}

void write_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n <= 0) return;  // a progress line is never worth failing for
    off += static_cast<std::size_t>(n);
  }
}

}  // namespace

Bar::Bar(std::string label, std::int64_t total, Unit unit, int fd, bool force)
    : label_(std::move(label)),
      total_(total),
      unit_(unit),
      fd_(fd),
      enabled_(force || ::isatty(fd) == 1),
      start_(std::chrono::steady_clock::now()) {}

Bar::~Bar() { finish(); }

void Bar::advance(std::int64_t n) {
  done_ += n;
  maybe_draw();
}

void Bar::set(std::int64_t done) {
  done_ = done;
  maybe_draw();
}

void Bar::set_total(std::int64_t total) { total_ = total; }

std::string Bar::line() const {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::string s = label_ + "  " + human(static_cast<double>(done_), unit_);
  if (total_ > 0) {
    const int pct = static_cast<int>(100.0 * static_cast<double>(done_) / static_cast<double>(total_));
    s += " / " + human(static_cast<double>(total_), unit_) + "  " + std::to_string(pct) + "%";
  }
  if (seconds > 0.5) {
    s += "  " + human(static_cast<double>(done_) / seconds, unit_) + "/s";
  }
  return s;
}

void Bar::maybe_draw() {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  drawn_ = true;
  // \r to the line start, the text, then erase whatever a longer previous line left.
  // Appended piece by piece: g++ 12 warns falsely (-Wrestrict) on "\r" + std::string.
  std::string text(1, '\r');
  text += line();
  text += "\033[K";
  write_all(fd_, text);
}

void Bar::finish() {
  if (enabled_ && drawn_) write_all(fd_, "\r\033[K");
  drawn_ = false;
}

}  // namespace pf::progress
