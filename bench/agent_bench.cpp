// SPDX-License-Identifier: Apache-2.0
// The agent's inventory on a large dpkg database: wall time and peak RSS of the real
// `patchflow-agent inventory --root R --json`, run as a separate process each time (so the
// figure includes start-up, reading, and writing the JSON).
//
// The root's status file is this machine's own /var/lib/dpkg/status (real paragraphs:
// descriptions, Depends, Conffiles...) replicated with renamed packages until it holds at least
// --packages installed entries (default 3,000). Targets (issue 4): median <= 50 ms, peak RSS
// <= 15 MB.
//
//   agent_bench [--packages N] [--runs N] [--agent PATH] [--status FILE]
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::string> paragraphs(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find("\n\n", start);
    if (end == std::string::npos) end = text.size();
    std::string p = text.substr(start, end - start);
    if (!p.empty() && p.find("\nStatus: install ok installed") != std::string::npos) out.push_back(p);
    start = end + 2;
  }
  return out;
}

// "Package: foo" -> "Package: foo-c<copy>" (copy 0 keeps the name). Source fields are left as
// they are, as on a real host many binaries share one source.
std::string renamed(const std::string& paragraph, int copy) {
  if (copy == 0) return paragraph;
  auto pos = paragraph.find("Package: ");
  auto eol = paragraph.find('\n', pos);
  return paragraph.substr(0, eol) + "-c" + std::to_string(copy) + paragraph.substr(eol);
}

struct Run {
  double ms;
  long maxrss_kib;
  int status;
};

Run run_once(const std::string& agent, const fs::path& root) {
  auto start = std::chrono::steady_clock::now();
  pid_t pid = ::fork();
  if (pid == 0) {
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::execl(agent.c_str(), agent.c_str(), "inventory", "--root", root.c_str(), "--json",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  struct rusage usage {};
  ::wait4(pid, &status, 0, &usage);
  auto end = std::chrono::steady_clock::now();
  return {std::chrono::duration<double, std::milli>(end - start).count(), usage.ru_maxrss, status};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t want = 3000;
  int runs = 31;
  std::string agent = PF_AGENT_BIN;
  std::string status_file = "/var/lib/dpkg/status";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--packages") want = std::stoul(argv[i + 1]);
    else if (a == "--runs") runs = std::stoi(argv[i + 1]);
    else if (a == "--agent") agent = argv[i + 1];
    else if (a == "--status") status_file = argv[i + 1];
    else {
      std::cerr << "usage: agent_bench [--packages N] [--runs N] [--agent PATH] [--status FILE]\n";
      return 2;
    }
  }
  auto base = paragraphs(read_file(status_file));
  if (base.empty()) {
    std::cerr << "agent_bench: no installed package in " << status_file << "\n";
    return 1;
  }
  char tmpl[] = "/tmp/pf-agent-bench-XXXXXX";
  if (!::mkdtemp(tmpl)) return 1;
  fs::path root = tmpl;
  fs::create_directories(root / "var/lib/dpkg");
  fs::create_directories(root / "etc");
  std::ofstream(root / "etc/os-release")
      << "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n";
  std::string status;
  std::size_t count = 0;
  for (int copy = 0; count < want; ++copy)
    for (const auto& p : base) {
      if (count == want) break;
      status += renamed(p, copy) + "\n\n";
      ++count;
    }
  std::ofstream(root / "var/lib/dpkg/status", std::ios::binary) << status;

  std::vector<double> ms;
  std::vector<double> rss;
  run_once(agent, root);  // warm the page cache
  for (int i = 0; i < runs; ++i) {
    Run r = run_once(agent, root);
    if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0) {
      std::cerr << "agent_bench: " << agent << " failed (status " << r.status << ")\n";
      fs::remove_all(root);
      return 1;
    }
    ms.push_back(r.ms);
    rss.push_back(static_cast<double>(r.maxrss_kib) / 1024.0);
  }
  fs::remove_all(root);
  std::printf("agent inventory --json: %zu packages, status file %.2f MiB, %d runs\n", count,
              static_cast<double>(status.size()) / (1 << 20), runs);
  std::printf("  wall time  median %.2f ms   min %.2f   max %.2f   (target <= 50 ms)\n", median(ms),
              *std::min_element(ms.begin(), ms.end()), *std::max_element(ms.begin(), ms.end()));
  std::printf("  peak RSS   median %.2f MiB  max %.2f       (target <= 15 MiB)\n", median(rss),
              *std::max_element(rss.begin(), rss.end()));
  return 0;
}
