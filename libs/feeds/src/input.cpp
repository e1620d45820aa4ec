// SPDX-License-Identifier: Apache-2.0
#include "input.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace pf::feeds::detail {

void fail(Errc code, std::string message, std::string where) {
  throw Failure(Error{code, std::move(message), std::move(where)});
}

namespace {

class FileSource final : public ByteSource {
 public:
  FileSource(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;
  ~FileSource() override { ::close(fd_); }

  std::size_t read(char* buffer, std::size_t size) override {
    for (;;) {
      const ssize_t n = ::read(fd_, buffer, size);
      if (n >= 0) {
        delivered_ += static_cast<std::uint64_t>(n);
        return static_cast<std::size_t>(n);
      }
      if (errno == EINTR) continue;
      fail(Errc::io, std::string("cannot read: ") + std::strerror(errno),
           name_ + " (byte " + std::to_string(delivered_) + ")");
    }
  }

 private:
  int fd_;
  std::string name_;
};

class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(std::string_view data) : data_(data) {}
  std::size_t read(char* buffer, std::size_t size) override {
    const std::size_t n = std::min(size, data_.size());
    std::memcpy(buffer, data_.data(), n);
    data_.remove_prefix(n);
    delivered_ += n;
    return n;
  }

 private:
  std::string_view data_;
};

class PeekSource final : public ByteSource {
 public:
  PeekSource(std::unique_ptr<ByteSource> inner, std::string head)
      : inner_(std::move(inner)), head_(std::move(head)) {}
  std::size_t read(char* buffer, std::size_t size) override {
    std::size_t n;
    if (used_ < head_.size()) {
      n = std::min(size, head_.size() - used_);
      std::memcpy(buffer, head_.data() + used_, n);
      used_ += n;
    } else {
      n = inner_->read(buffer, size);
    }
    delivered_ += n;
    return n;
  }

 private:
  std::unique_ptr<ByteSource> inner_;
  std::string head_;
  std::size_t used_{0};
};

std::string limit_message(std::string_view what, std::uint64_t limit) {
  return std::string(what) + " exceeds the limit of " + std::to_string(limit) + " bytes";
}

/// Passes bytes through, failing past the limit.
class LimitedSource final : public ByteSource {
 public:
  LimitedSource(std::unique_ptr<ByteSource> inner, std::string name, std::uint64_t limit,
                std::string_view what)
      : inner_(std::move(inner)), name_(std::move(name)), limit_(limit), what_(what) {}
  std::size_t read(char* buffer, std::size_t size) override {
    const std::size_t n = inner_->read(buffer, size);
    if (delivered_ + n > limit_) {
      fail(Errc::invalid_input, limit_message(what_, limit_),
           name_ + " (byte " + std::to_string(limit_) + ")");
    }
    delivered_ += n;
    return n;
  }

 private:
  std::unique_ptr<ByteSource> inner_;
  std::string name_;
  std::uint64_t limit_;
  std::string what_;
};

class GzipSource final : public ByteSource {
 public:
  GzipSource(std::unique_ptr<ByteSource> inner, std::string name, std::uint64_t limit,
             std::string_view what)
      : inner_(std::move(inner)), name_(std::move(name)), limit_(limit), what_(what),
        in_(kChunk) {
    if (inflateInit2(&z_, 16 + MAX_WBITS) != Z_OK) {
      fail(Errc::io, "cannot initialise zlib", name_);
    }
  }
  GzipSource(const GzipSource&) = delete;
  GzipSource& operator=(const GzipSource&) = delete;
  ~GzipSource() override { inflateEnd(&z_); }

  std::size_t read(char* buffer, std::size_t size) override {
    if (size == 0 || finished_) return 0;
    z_.next_out = reinterpret_cast<Bytef*>(buffer);
    z_.avail_out = static_cast<uInt>(std::min<std::size_t>(size, 1u << 30));
    while (z_.avail_out > 0) {
      if (z_.avail_in == 0) {
        const std::size_t got = inner_->read(in_.data(), in_.size());
        if (got == 0) {
          if (member_done_) {
            finished_ = true;
            break;
          }
          fail(Errc::invalid_input, "truncated gzip stream", where());
        }
        z_.next_in = reinterpret_cast<Bytef*>(in_.data());
        z_.avail_in = static_cast<uInt>(got);
      }
      if (member_done_) {
        // Another gzip member follows (concatenated members are one stream, as gzip -d does).
        if (inflateReset(&z_) != Z_OK) fail(Errc::io, "cannot reset zlib", where());
        member_done_ = false;
      }
      const int rc = inflate(&z_, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        member_done_ = true;
        continue;
      }
      if (rc == Z_BUF_ERROR) continue;  // needs more input
      if (rc != Z_OK) {
        fail(Errc::invalid_input,
             std::string("corrupt gzip stream: ") + (z_.msg != nullptr ? z_.msg : "zlib error"),
             where());
      }
    }
    const std::size_t n = size - z_.avail_out;
    if (delivered_ + n > limit_) {
      fail(Errc::invalid_input, limit_message(what_, limit_),
           name_ + " (byte " + std::to_string(limit_) + " after decompression)");
    }
    delivered_ += n;
    return n;
  }

 private:
  static constexpr std::size_t kChunk = 64 * 1024;
  [[nodiscard]] std::string where() const {
    return name_ + " (compressed byte " + std::to_string(inner_->delivered()) + ")";
  }
  std::unique_ptr<ByteSource> inner_;
  std::string name_;
  std::uint64_t limit_;
  std::string what_;
  std::vector<char> in_;
  z_stream z_{};
  bool member_done_{false};
  bool finished_{false};
};

// ---- archives ------------------------------------------------------------------------------

struct ArchiveDeleter {
  void operator()(archive* a) const noexcept { archive_read_free(a); }
};

bool unsafe_entry_name(std::string_view name) {
  if (name.empty()) return true;
  if (name.front() == '/' || name.front() == '\\') return true;
  if (name.size() >= 2 && name[1] == ':') return true;  // a Windows drive letter
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = name.find_first_of("/\\", start);
    if (end == std::string_view::npos) end = name.size();
    if (name.substr(start, end - start) == "..") return true;
    start = end + 1;
  }
  return false;
}

class EntrySource final : public ByteSource {
 public:
  EntrySource(archive* a, std::string where, std::uint64_t limit)
      : a_(a), where_(std::move(where)), limit_(limit) {}
  std::size_t read(char* buffer, std::size_t size) override {
    const la_ssize_t n = archive_read_data(a_, buffer, size);
    if (n < 0) {
      fail(Errc::invalid_input,
           std::string("corrupt archive entry: ") + archive_error_string(a_),
           where_ + " (byte " + std::to_string(delivered_) + ")");
    }
    if (delivered_ + static_cast<std::uint64_t>(n) > limit_) {
      fail(Errc::invalid_input,
           limit_message("archive entry", limit_) + " after decompression",
           where_ + " (byte " + std::to_string(limit_) + ")");
    }
    delivered_ += static_cast<std::uint64_t>(n);
    return static_cast<std::size_t>(n);
  }

 private:
  archive* a_;
  std::string where_;
  std::uint64_t limit_;
};

class LibarchiveReader final : public ArchiveReader {
 public:
  explicit LibarchiveReader(std::string name) : name_(std::move(name)), a_(archive_read_new()) {
    if (!a_) fail(Errc::io, "cannot create an archive reader", name_);
    archive_read_support_format_zip(a_.get());
    archive_read_support_format_tar(a_.get());
    archive_read_support_format_gnutar(a_.get());
    archive_read_support_filter_gzip(a_.get());
    archive_read_support_filter_xz(a_.get());
    archive_read_support_filter_bzip2(a_.get());
    archive_read_support_filter_zstd(a_.get());
  }

  void open_file(const std::filesystem::path& path) {
    if (archive_read_open_filename(a_.get(), path.c_str(), 64 * 1024) != ARCHIVE_OK) {
      fail(Errc::invalid_input, std::string("not a readable archive: ") + error_text(), name_);
    }
  }
  void open_memory(std::string_view data) {
    if (archive_read_open_memory(a_.get(), data.data(), data.size()) != ARCHIVE_OK) {
      fail(Errc::invalid_input, std::string("not a readable archive: ") + error_text(), name_);
    }
  }

  bool next(std::string& entry_name, std::int64_t& declared_size) override {
    for (;;) {
      archive_entry* entry = nullptr;
      const int rc = archive_read_next_header(a_.get(), &entry);
      if (rc == ARCHIVE_EOF) return false;
      if (rc < ARCHIVE_WARN) {
        fail(Errc::invalid_input, std::string("corrupt archive: ") + error_text(),
             name_ + " (entry " + std::to_string(index_ + 1) + ")");
      }
      ++index_;
      const char* raw = archive_entry_pathname(entry);
      entry_name = raw != nullptr ? raw : "";
      if (unsafe_entry_name(entry_name)) {
        fail(Errc::invalid_input,
             "archive entry name '" + entry_name +
                 "' is absolute or contains '..': refusing an archive that reaches outside "
                 "itself",
             name_ + "!" + entry_name);
      }
      if (archive_entry_filetype(entry) != AE_IFREG) continue;
      last_name_ = entry_name;
      declared_size = archive_entry_size_is_set(entry) ? archive_entry_size(entry) : -1;
      return true;
    }
  }

  std::unique_ptr<ByteSource> entry_source(std::uint64_t limit) override {
    return std::make_unique<EntrySource>(a_.get(), name_ + "!" + current_name(), limit);
  }

 private:
  [[nodiscard]] std::string current_name() const { return last_name_; }
  [[nodiscard]] const char* error_text() const {
    const char* text = archive_error_string(a_.get());
    return text != nullptr ? text : "unknown archive error";
  }

  std::string name_;
  std::unique_ptr<archive, ArchiveDeleter> a_;
  std::uint64_t index_{0};
  std::string last_name_;
};

}  // namespace

std::unique_ptr<ByteSource> open_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    fail(err == ENOENT ? Errc::not_found : Errc::io,
         std::string("cannot open: ") + std::strerror(err), path.string());
  }
  return std::make_unique<FileSource>(fd, path.string());
}

std::unique_ptr<ByteSource> memory_source(std::string_view data) {
  return std::make_unique<MemorySource>(data);
}

std::unique_ptr<ByteSource> peek_source(std::unique_ptr<ByteSource> inner, std::string& head,
                                        std::size_t size) {
  head.assign(size, '\0');
  std::size_t got = 0;
  while (got < size) {
    const std::size_t n = inner->read(head.data() + got, size - got);
    if (n == 0) break;
    got += n;
  }
  head.resize(got);
  return std::make_unique<PeekSource>(std::move(inner), head);
}

std::unique_ptr<ByteSource> decoded_source(std::unique_ptr<ByteSource> inner, std::string name,
                                           std::uint64_t limit, std::string_view what) {
  std::string head;
  auto peeked = peek_source(std::move(inner), head, 2);
  if (head.size() == 2 && static_cast<unsigned char>(head[0]) == 0x1f &&
      static_cast<unsigned char>(head[1]) == 0x8b) {
    return std::make_unique<GzipSource>(std::move(peeked), std::move(name), limit, what);
  }
  return std::make_unique<LimitedSource>(std::move(peeked), std::move(name), limit, what);
}

std::unique_ptr<ArchiveReader> ArchiveReader::open_file(const std::filesystem::path& path,
                                                        std::string name) {
  auto reader = std::make_unique<LibarchiveReader>(std::move(name));
  reader->open_file(path);
  return reader;
}

std::unique_ptr<ArchiveReader> ArchiveReader::open_memory(std::string_view data,
                                                          std::string name) {
  auto reader = std::make_unique<LibarchiveReader>(std::move(name));
  reader->open_memory(data);
  return reader;
}

bool looks_like_archive(std::string_view head) {
  auto starts = [&](std::string_view magic) { return head.substr(0, magic.size()) == magic; };
  using namespace std::string_view_literals;
  if (starts("PK\x03\x04"sv) || starts("PK\x05\x06"sv)) return true;  // zip (or empty zip)
  if (starts("\xFD" "7zXZ\x00"sv) || starts("BZh"sv) || starts("\x28\xB5\x2F\xFD"sv)) return true;
  return head.size() >= 262 && head.substr(257, 5) == "ustar";
}

}  // namespace pf::feeds::detail
