// SPDX-License-Identifier: Apache-2.0
// A real, throwaway PostgreSQL server for tests (the contract suite runs the stores on it).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "patchflow/common/error.hpp"

namespace pf::testing {

/// A PostgreSQL 15 cluster of its own: DIR/data, a server on 127.0.0.1 and a free port with
/// its Unix socket in DIR, fsync off. Text in its databases is UTF-8 and sorts by ICU's en-US
/// rules, as a production database's often does, so byte-order assumptions show up in tests.
///
/// DIR/data is a copy (cp -a) of a template that initdb makes once (as the `postgres` user when
/// the tests run as root, since initdb refuses root), kept beside the test binary, in the build
/// tree (or in $PF_PG_TEMPLATE_DIR; in the temporary directory when neither can be written):
/// pg-template-<hash of the tools' directory and initdb's options>. Test processes running in
/// parallel make it once, under a flock(2) on a lock file beside it. Remove it to have it made
/// again.
///
/// Authentication: trust, except for members of the role kPasswordRole, who must give their
/// password (scram-sha-256) over TCP.
///
/// Tools come from /usr/lib/postgresql/15/bin, or $PF_PG_BINDIR.
class PgCluster {
 public:
  static constexpr std::string_view kPasswordRole = "pf_password_auth";

  /// Creates the cluster in `dir` (created when absent; it must be empty) and starts it; returns
  /// when the server accepts connections. A failure names the step and ends with the tail of
  /// the server log.
  [[nodiscard]] static Result<std::unique_ptr<PgCluster>> start(const std::filesystem::path& dir);

  /// The cluster of this test binary: started at the first call in a new directory under
  /// $PF_PG_CLUSTER_DIR, else /dev/shm (when it is there with 1 GiB free), else the temporary
  /// directory; stopped and removed when the process exits. A failure to start is
  /// returned to every caller; it is not retried. Prints the start time once, on stderr.
  [[nodiscard]] static Result<PgCluster*> shared();

  /// The database of a test directory on the shared() cluster: created at the first call for
  /// `dir` (its URL kept in DIR/postgres.url), the same one at every later call for `dir`, so
  /// that a test opening its store again (or a second store beside it) reaches the same data.
  [[nodiscard]] static Result<std::string> database_for(const std::filesystem::path& dir);

  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;
  /// pg_ctl stop -m fast (-m immediate if that fails), then removes the directory. Does nothing
  /// in a forked child of the process that started the cluster.
  ~PgCluster();

  /// A new, uniquely named, empty database; returns its URL (user postgres, no password).
  [[nodiscard]] Result<std::string> create_database();

  /// postgresql://USER[:PASSWORD]@127.0.0.1:PORT/DATABASE (user and password percent-encoded).
  [[nodiscard]] std::string url(std::string_view database, std::string_view user = "postgres",
                                std::string_view password = {}) const;

  /// Runs SQL with psql as the superuser; returns what it printed (unaligned, tuples only,
  /// without the final new line). Errors carry psql's stderr.
  [[nodiscard]] Result<std::string> psql(std::string_view sql,
                                         std::string_view database = "postgres") const;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_; }
  /// From the start (the template's copy, or initdb when the template is made) to the first
  /// accepted connection.
  [[nodiscard]] std::chrono::milliseconds startup_time() const noexcept { return startup_; }
  /// The last `bytes` of the server log.
  [[nodiscard]] std::string log_tail(std::size_t bytes = 4096) const;

 private:
  PgCluster() = default;
  std::filesystem::path dir_;
  std::uint16_t port_{0};
  std::chrono::milliseconds startup_{0};
  bool running_{false};
  int owner_pid_{0};  // a forked child that exits must not stop its parent's server
};

}  // namespace pf::testing
