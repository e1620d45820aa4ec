// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <string>

#include "patchflow/policy/selector.hpp"

namespace pf::policy {
namespace {

bool key_char(char c, bool first) {
  if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  return !first && (c == '_' || c == '.' || c == '-');
}

bool value_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  Result<Selector> run() {
    Selector sel;
    skip();
    if (pos_ == s_.size()) return sel;  // empty: matches everything
    while (true) {
      if (sel.terms.size() == kMaxSelectorTerms) {
        return fail("more than " + std::to_string(kMaxSelectorTerms) + " terms");
      }
      auto term = parse_term();
      if (!term) return tl::unexpected(term.error());
      sel.terms.push_back(std::move(*term));
      skip();
      if (pos_ == s_.size()) break;
      if (s_[pos_] != ',') return fail("expected ',' or the end, found " + found());
      ++pos_;
      skip();
    }
    return sel;
  }

 private:
  Unexpected fail(const std::string& message) const {
    return make_error(Errc::invalid_input, message, "column " + std::to_string(pos_ + 1));
  }
  std::string found() const {
    if (pos_ >= s_.size()) return "the end";
    const char c = s_[pos_];
    if (c >= 0x20 && c < 0x7f) return std::string("'") + c + "'";
    return "byte " + std::to_string(static_cast<unsigned char>(c));
  }
  void skip() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
  }

  Result<std::string> key() {
    const std::size_t start = pos_;
    while (pos_ < s_.size() && key_char(s_[pos_], pos_ == start)) ++pos_;
    if (pos_ == start) return fail("expected a label key, found " + found());
    if (pos_ - start > 63) {
      pos_ = start;
      return fail("label key longer than 63 characters");
    }
    return std::string(s_.substr(start, pos_ - start));
  }

  Result<std::string> value() {
    const std::size_t start = pos_;
    while (pos_ < s_.size() && value_char(s_[pos_])) ++pos_;
    if (pos_ == start) return fail("expected a label value, found " + found());
    if (pos_ - start > 63) {
      pos_ = start;
      return fail("label value longer than 63 characters");
    }
    return std::string(s_.substr(start, pos_ - start));
  }

  bool word(std::string_view w) {
    if (s_.substr(pos_, w.size()) != w) return false;
    const std::size_t end = pos_ + w.size();
    if (end < s_.size() && key_char(s_[end], false)) return false;
    pos_ = end;
    return true;
  }

  Result<SelectorTerm> parse_term() {
    SelectorTerm t;
    if (pos_ >= s_.size()) return fail("expected a label key, found the end");
    if (s_[pos_] == '!') {
      ++pos_;
      skip();
      auto k = key();
      if (!k) return tl::unexpected(k.error());
      t.op = SelectorTerm::Op::not_exists;
      t.key = *k;
      return t;
    }
    auto k = key();
    if (!k) return tl::unexpected(k.error());
    t.key = *k;
    skip();
    if (pos_ == s_.size() || s_[pos_] == ',') {
      t.op = SelectorTerm::Op::exists;
      return t;
    }
    if (s_.substr(pos_, 2) == "!=") {
      pos_ += 2;
      t.op = SelectorTerm::Op::ne;
    } else if (s_.substr(pos_, 2) == "==") {
      pos_ += 2;
      t.op = SelectorTerm::Op::eq;
    } else if (s_[pos_] == '=') {
      ++pos_;
      t.op = SelectorTerm::Op::eq;
    } else if (word("notin")) {
      t.op = SelectorTerm::Op::notin;
    } else if (word("in")) {
      t.op = SelectorTerm::Op::in;
    } else {
      return fail("expected '=', '!=', 'in', 'notin', ',' or the end after key '" + t.key +
                  "', found " + found());
    }
    skip();
    if (t.op == SelectorTerm::Op::eq || t.op == SelectorTerm::Op::ne) {
      auto v = value();
      if (!v) return tl::unexpected(v.error());
      t.values.push_back(*v);
      return t;
    }
    if (pos_ == s_.size() || s_[pos_] != '(') return fail("expected '(', found " + found());
    ++pos_;
    while (true) {
      skip();
      if (t.values.size() == kMaxSelectorValues) {
        return fail("more than " + std::to_string(kMaxSelectorValues) + " values");
      }
      auto v = value();
      if (!v) return tl::unexpected(v.error());
      t.values.push_back(*v);
      skip();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == ')') {
        ++pos_;
        break;
      }
      return fail("expected ',' or ')', found " + found());
    }
    std::sort(t.values.begin(), t.values.end());
    t.values.erase(std::unique(t.values.begin(), t.values.end()), t.values.end());
    return t;
  }

  std::string_view s_;
  std::size_t pos_{0};
};

}  // namespace

Result<Selector> parse_selector(std::string_view text) {
  if (text.size() > kMaxSelectorText) {
    return make_error(Errc::invalid_input,
                      "selector longer than " + std::to_string(kMaxSelectorText) + " bytes",
                      "column 1");
  }
  return Parser(text).run();
}

std::string to_string(const Selector& selector) {
  std::string out;
  for (const auto& t : selector.terms) {
    if (!out.empty()) out += ',';
    switch (t.op) {
      case SelectorTerm::Op::eq: out += t.key + "=" + t.values.at(0); break;
      case SelectorTerm::Op::ne: out += t.key + "!=" + t.values.at(0); break;
      case SelectorTerm::Op::exists: out += t.key; break;
      case SelectorTerm::Op::not_exists: out += "!" + t.key; break;
      case SelectorTerm::Op::in:
      case SelectorTerm::Op::notin: {
        out += t.key + (t.op == SelectorTerm::Op::in ? " in (" : " notin (");
        for (std::size_t i = 0; i < t.values.size(); ++i) out += (i ? "," : "") + t.values[i];
        out += ')';
        break;
      }
    }
  }
  return out;
}

bool matches(const Selector& selector, const std::map<std::string, std::string>& labels) {
  for (const auto& t : selector.terms) {
    auto it = labels.find(t.key);
    const bool has = it != labels.end();
    auto in_values = [&] {
      return has && std::find(t.values.begin(), t.values.end(), it->second) != t.values.end();
    };
    bool ok = false;
    switch (t.op) {
      case SelectorTerm::Op::eq: ok = has && !t.values.empty() && it->second == t.values[0]; break;
      case SelectorTerm::Op::ne: ok = !has || t.values.empty() || it->second != t.values[0]; break;
      case SelectorTerm::Op::in: ok = in_values(); break;
      case SelectorTerm::Op::notin: ok = !in_values(); break;
      case SelectorTerm::Op::exists: ok = has; break;
      case SelectorTerm::Op::not_exists: ok = !has; break;
    }
    if (!ok) return false;
  }
  return true;
}

}  // namespace pf::policy
