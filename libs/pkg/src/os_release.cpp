// SPDX-License-Identifier: Apache-2.0
#include "patchflow/pkg/os_release.hpp"

#include <array>

#include "files.hpp"

namespace pf::pkg {

namespace {

using detail::at;
using detail::is_blank;

constexpr std::size_t kMaxOsReleaseSize = 64 * 1024;

bool valid_key(std::string_view key) noexcept {
  if (key.empty()) return false;
  for (std::size_t i = 0; i < key.size(); ++i) {
    const char c = key[i];
    const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// Characters that mean more than a literal to a shell when unquoted.
bool shell_special(char c) noexcept {
  switch (c) {
    case '$':
    case '`':
    case '|':
    case '&':
    case ';':
    case '<':
    case '>':
    case '(':
    case ')':
      return true;
    default:
      return false;
  }
}

struct Family {
  std::string_view id;
  std::string_view ecosystem;
  bool major_only;  // the advisories name the major release only
};

constexpr std::array<Family, 9> kFamilies{{
    {"debian", "Debian", false},
    {"ubuntu", "Ubuntu", false},
    {"almalinux", "AlmaLinux", true},
    {"rocky", "Rocky Linux", true},
    {"rhel", "Red Hat", true},
    {"centos", "CentOS", true},
    {"fedora", "Fedora", false},
    {"ol", "Oracle Linux", true},
    {"amzn", "Amazon Linux", false},
}};

// "12", "22.04", "9.3": digits, dot-separated.
bool numeric_version(std::string_view v) noexcept {
  if (v.empty() || v.front() == '.' || v.back() == '.') return false;
  char prev = '.';
  for (char c : v) {
    if (c == '.') {
      if (prev == '.') return false;
    } else if (c < '0' || c > '9') {
      return false;
    }
    prev = c;
  }
  return true;
}

}  // namespace

Result<std::vector<std::pair<std::string, std::string>>> parse_os_release_fields(
    std::string_view text, std::string_view name) {
  if (text.size() > kMaxOsReleaseSize) {
    return make_error(Errc::invalid_input,
                      "larger than the limit of " + std::to_string(kMaxOsReleaseSize) + " bytes",
                      at(name, detail::line_of(text, kMaxOsReleaseSize)));
  }
  std::vector<std::pair<std::string, std::string>> fields;
  std::size_t pos = 0;
  std::size_t line = 0;
  while (pos < text.size()) {
    ++line;
    const std::size_t start_line = line;
    auto fail = [&](std::string message) {
      return make_error(Errc::invalid_input, std::move(message), at(name, line));
    };
    // Skip leading blanks; empty lines and comments.
    while (pos < text.size() && is_blank(text[pos])) ++pos;
    if (pos == text.size()) break;
    if (text[pos] == '\n') {
      ++pos;
      continue;
    }
    if (text[pos] == '#') {
      const std::size_t nl = text.find('\n', pos);
      pos = nl == std::string_view::npos ? text.size() : nl + 1;
      continue;
    }
    const std::size_t eq = text.find('=', pos);
    const std::size_t nl = text.find('\n', pos);
    if (eq == std::string_view::npos || (nl != std::string_view::npos && nl < eq)) {
      return fail("expected KEY=VALUE");
    }
    const std::string_view key = text.substr(pos, eq - pos);
    if (!valid_key(key)) return fail("invalid key '" + std::string(key) + "'");
    pos = eq + 1;

    std::string value;
    enum class Quote { none, single, dbl } quote = Quote::none;
    bool done = false;
    while (!done) {
      if (pos == text.size()) {
        if (quote != Quote::none) {
          return make_error(Errc::invalid_input,
                            "unterminated " +
                                std::string(quote == Quote::single ? "single" : "double") +
                                " quote in the value of " + std::string(key),
                            at(name, start_line));
        }
        break;
      }
      const char c = text[pos];
      const auto uc = static_cast<unsigned char>(c);
      if ((uc < 0x20 && c != '\t' && c != '\n') || uc == 0x7f) {
        return fail("control byte " + detail::byte_name(uc) + " in the value of " +
                    std::string(key));
      }
      switch (quote) {
        case Quote::none:
          if (c == '\n') {
            done = true;
          } else if (c == '\'') {
            quote = Quote::single;
          } else if (c == '"') {
            quote = Quote::dbl;
          } else if (c == '\\') {
            if (pos + 1 == text.size()) return fail("backslash at the end of the input");
            if (text[pos + 1] == '\n') {
              ++line;  // line continuation
            } else {
              value += text[pos + 1];
            }
            ++pos;
          } else if (is_blank(c)) {
            // Trailing blanks end the value; anything after them would be a command to a shell.
            std::size_t k = pos;
            while (k < text.size() && is_blank(text[k])) ++k;
            if (k < text.size() && text[k] != '\n' && text[k] != '#') {
              return fail("unquoted white space in the value of " + std::string(key) +
                          " (quote the value)");
            }
            pos = k;
            if (pos < text.size() && text[pos] == '#') {
              const std::size_t e = text.find('\n', pos);
              pos = e == std::string_view::npos ? text.size() : e;
            }
            continue;
          } else if (shell_special(c)) {
            return fail("unquoted '" + std::string(1, c) + "' in the value of " + std::string(key) +
                        " (quote the value)");
          } else {
            value += c;
          }
          break;
        case Quote::single:
          if (c == '\'') {
            quote = Quote::none;
          } else {
            if (c == '\n') ++line;
            value += c;
          }
          break;
        case Quote::dbl:
          if (c == '"') {
            quote = Quote::none;
          } else if (c == '\\' && pos + 1 < text.size() &&
                     (text[pos + 1] == '$' || text[pos + 1] == '"' || text[pos + 1] == '\\' ||
                      text[pos + 1] == '`' || text[pos + 1] == '\n')) {
            if (text[pos + 1] == '\n') {
              ++line;
            } else {
              value += text[pos + 1];
            }
            ++pos;
          } else if (c == '$' || c == '`') {
            return fail("unescaped '" + std::string(1, c) + "' in the double-quoted value of " +
                        std::string(key) + " (no expansion is done)");
          } else {
            if (c == '\n') ++line;
            value += c;
          }
          break;
      }
      ++pos;
    }
    fields.emplace_back(std::string(key), std::move(value));
  }
  return fields;
}

Result<std::string> ecosystem_for(std::string_view id, std::string_view version_id,
                                  std::string_view version) {
  const Family* family = nullptr;
  for (const auto& f : kFamilies) {
    if (f.id == id) family = &f;
  }
  if (family == nullptr) {
    return make_error(Errc::invalid_input,
                      "unknown distribution ID '" + std::string(id) +
                          "': no advisory ecosystem is known for it (known: debian, ubuntu, "
                          "almalinux, rocky, rhel, centos, fedora, ol, amzn)",
                      "ID");
  }
  if (version_id.empty()) {
    return make_error(Errc::invalid_input,
                      "no VERSION_ID for ID '" + std::string(id) +
                          "' (a testing or rolling release?): the advisory ecosystem needs the "
                          "release",
                      "VERSION_ID");
  }
  if (!numeric_version(version_id)) {
    return make_error(Errc::invalid_input,
                      "VERSION_ID '" + std::string(version_id) + "' of ID '" + std::string(id) +
                          "' is not a release number like 12, 22.04 or 9.3",
                      "VERSION_ID");
  }
  std::string eco(family->ecosystem);
  eco += ':';
  eco += family->major_only ? version_id.substr(0, version_id.find('.')) : version_id;
  if (family->id == "ubuntu" && version.find("LTS") != std::string_view::npos) eco += ":LTS";
  return eco;
}

Result<OsRelease> parse_os_release(std::string_view text, std::string_view name) {
  auto fields = parse_os_release_fields(text, name);
  if (!fields) return tl::unexpected(fields.error());
  OsRelease os;
  for (auto& [key, value] : *fields) {
    // As in a shell, a later assignment wins.
    if (key == "ID")
      os.id = value;
    else if (key == "VERSION_ID")
      os.version_id = value;
    else if (key == "VERSION")
      os.version = value;
    else if (key == "PRETTY_NAME")
      os.pretty_name = value;
  }
  if (os.id.empty()) {
    return make_error(Errc::invalid_input, "no ID field: the distribution is unknown",
                      std::string(name));
  }
  auto eco = ecosystem_for(os.id, os.version_id, os.version);
  if (!eco) {
    return make_error(eco.error().code, eco.error().message, std::string(name));
  }
  os.ecosystem = std::move(*eco);
  return os;
}

Result<OsRelease> read_os_release(const std::filesystem::path& root) {
  auto file = detail::resolve_in_root(root, "etc/os-release");
  if (!file && file.error().code == Errc::not_found) {
    file = detail::resolve_in_root(root, "usr/lib/os-release");
    if (!file && file.error().code == Errc::not_found) {
      return make_error(Errc::not_found, "neither etc/os-release nor usr/lib/os-release exists",
                        root.string());
    }
  }
  if (!file) return tl::unexpected(file.error());
  auto text = detail::read_at_most(*file, kMaxOsReleaseSize);
  if (!text) return tl::unexpected(text.error());
  auto os = parse_os_release(*text, file->string());
  if (!os) return os;
  os->file = *file;
  return os;
}

}  // namespace pf::pkg
