// SPDX-License-Identifier: Apache-2.0
#include "patchflow/auth/labels.hpp"

#include "text.hpp"

namespace pf::auth {
namespace {

bool key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

bool value_char(char c) { return key_char(c) || (c >= 'A' && c <= 'Z'); }

std::string char_name(char c) {
  if (c == ' ') return "a space";
  return "character " + detail::quote(std::string_view(&c, 1));
}

}  // namespace

Result<void> check_label(std::string_view key, std::string_view value, std::string_view where) {
  auto fail = [&](std::string why) {
    return make_error(Errc::invalid_input,
                      "label " + detail::quote(key) + ": " + std::move(why), std::string(where));
  };
  if (key.empty()) return fail("empty key");
  if (key.size() > kMaxLabelKey) {
    return fail("key longer than " + std::to_string(kMaxLabelKey) + " characters");
  }
  if (key[0] == '_' || key[0] == '.' || key[0] == '-') {
    return fail("a key starts with a lower-case letter or digit");
  }
  for (char c : key) {
    if (!key_char(c)) {
      return fail("key contains " + char_name(c) + " (allowed: a-z 0-9 _ . -)");
    }
  }
  if (value.size() > kMaxLabelValue) {
    return fail("value longer than " + std::to_string(kMaxLabelValue) + " characters");
  }
  for (char c : value) {
    if (!value_char(c)) {
      return fail("value contains " + char_name(c) + " (allowed: A-Z a-z 0-9 _ . -)");
    }
  }
  return {};
}

Result<Labels> parse_labels(std::string_view text, std::string_view where) {
  Labels out;
  if (text.empty()) return out;
  // Each item is at most key + '=' + value + ','; anything longer cannot be valid.
  constexpr std::size_t kMaxText = kMaxLabels * (kMaxLabelKey + kMaxLabelValue + 2);
  if (text.size() > kMaxText) {
    return make_error(Errc::invalid_input,
                      "labels longer than " + std::to_string(kMaxText) + " bytes",
                      std::string(where));
  }
  std::size_t index = 0;
  std::size_t start = 0;
  while (true) {
    ++index;
    const auto comma = text.find(',', start);
    const std::string_view item =
        text.substr(start, comma == std::string_view::npos ? comma : comma - start);
    const std::string at = "label " + std::to_string(index);
    auto fail = [&](std::string why) {
      return make_error(Errc::invalid_input, at + " " + detail::quote(item) + ": " + std::move(why),
                        std::string(where));
    };
    if (item.empty()) return fail("empty (two commas, or a comma at the start or end)");
    if (out.size() == kMaxLabels) {
      return fail("more than " + std::to_string(kMaxLabels) + " labels");
    }
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) return fail("expected key=value");
    const std::string_view key = item.substr(0, eq);
    const std::string_view value = item.substr(eq + 1);
    if (auto ok = check_label(key, value, where); !ok) {
      return make_error(Errc::invalid_input, at + ": " + ok.error().message, std::string(where));
    }
    if (!out.emplace(std::string(key), std::string(value)).second) {
      return fail("key " + detail::quote(key) + " given twice");
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string format_labels(const Labels& labels) {
  std::string out;
  for (const auto& [key, value] : labels) {
    if (!out.empty()) out += ',';
    out += key;
    out += '=';
    out += value;
  }
  return out;
}

}  // namespace pf::auth
