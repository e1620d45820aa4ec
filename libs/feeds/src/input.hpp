// SPDX-License-Identifier: Apache-2.0
// Byte sources for the importers: files, memory, gzip streams and archive entries, each
// counting what it delivers against a limit. Private to the feeds component.
//
// Inside the component, parse failures unwind as a Failure exception that carries a pf::Error;
// every public entry point catches it (and std::bad_alloc) and returns the Error. This keeps
// the recursive-descent readers free of per-token error plumbing, the same way third-party
// exceptions are turned into Error at an adapter.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "patchflow/common/error.hpp"
#include "patchflow/feeds/feeds.hpp"

namespace pf::feeds::detail {

class Failure : public std::exception {
 public:
  explicit Failure(Error error) : error_(std::move(error)) {}
  [[nodiscard]] const char* what() const noexcept override { return error_.message.c_str(); }
  [[nodiscard]] const Error& error() const noexcept { return error_; }

 private:
  Error error_;
};

[[noreturn]] void fail(Errc code, std::string message, std::string where);

/// A stream of bytes. read() returns 0 only at the end; failures throw Failure.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual std::size_t read(char* buffer, std::size_t size) = 0;
  /// Bytes delivered so far.
  [[nodiscard]] std::uint64_t delivered() const noexcept { return delivered_; }

 protected:
  std::uint64_t delivered_{0};
};

/// Reads a file with read(2); fails with Errc::not_found / Errc::io.
std::unique_ptr<ByteSource> open_file(const std::filesystem::path& path);
/// A view of memory the caller keeps alive.
std::unique_ptr<ByteSource> memory_source(std::string_view data);

/// Wraps a source: if its first bytes are the gzip magic, inflates it (concatenated members
/// included), otherwise passes it through. Either way fails once more than `limit` bytes
/// would be delivered ("<what> exceeds the limit of N bytes"). `name` goes into errors.
std::unique_ptr<ByteSource> decoded_source(std::unique_ptr<ByteSource> inner, std::string name,
                                           std::uint64_t limit, std::string_view what);

/// The first `size` bytes a source will deliver, without consuming them: wraps `inner` so that
/// the peeked bytes are delivered again. Used for format detection.
std::unique_ptr<ByteSource> peek_source(std::unique_ptr<ByteSource> inner, std::string& head,
                                        std::size_t size);

/// Converts a Failure or std::bad_alloc thrown by `body` into an Error.
template <class Body>
Result<ImportStats> guarded(Body&& body) {
  try {
    return body();
  } catch (const Failure& failure) {
    return tl::unexpected(failure.error());
  } catch (const std::bad_alloc&) {
    return make_error(Errc::invalid_input, "out of memory while importing", {});
  }
}

/// The archive side: iterates the regular entries of a zip/tar archive (any compression).
/// Throws Failure on a malformed archive or an unsafe entry name.
class ArchiveReader {
 public:
  /// Opens a file, or memory the caller keeps alive.
  static std::unique_ptr<ArchiveReader> open_file(const std::filesystem::path& path,
                                                  std::string name);
  static std::unique_ptr<ArchiveReader> open_memory(std::string_view data, std::string name);
  virtual ~ArchiveReader() = default;
  /// Advances to the next regular entry; false at the end. Its name is checked: absolute paths
  /// and `..` components fail.
  virtual bool next(std::string& entry_name, std::int64_t& declared_size) = 0;
  /// The current entry's data, counted against `limit` while decompressing.
  virtual std::unique_ptr<ByteSource> entry_source(std::uint64_t limit) = 0;
};

/// True when the bytes start like a zip, tar, or a compressed stream that libarchive reads
/// (xz, bzip2, zstd; gzip only when what follows the gzip header is a tar).
bool looks_like_archive(std::string_view head);

}  // namespace pf::feeds::detail
