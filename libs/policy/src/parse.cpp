// SPDX-License-Identifier: Apache-2.0
// The YAML reader: schema-driven, every node read counted (aliases each time), every error at
// FILE:LINE:COL with the key path and what was expected and found.
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <set>
#include <sstream>
#include <string>

#include "internal.hpp"
#include "patchflow/cel/expr.hpp"
#include "patchflow/cel/stages.hpp"
#include "patchflow/policy/document.hpp"

namespace pf::policy {
namespace {

using Node = YAML::Node;
using Keys = std::vector<std::string_view>;

std::string join(const Keys& keys) {
  std::string out;
  for (auto k : keys) out += (out.empty() ? "" : ", ") + std::string(k);
  return out;
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 60)) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) out += '?';
    else out += c;
  }
  if (s.size() > 60) out += "...";
  return out + "\"";
}

// yaml-cpp 0.7's LoadAll loops forever, allocating, on a token no node can start with, such
// as ',' at the top level ("[a],b", jbeder/yaml-cpp#1040, fixed upstream after 0.7): the
// parser returns an empty document without consuming the token, again and again. A first pass
// with the event parser finds that case (two empty documents at the same place) before
// LoadAll runs.
class DocumentProbe : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& /*mark*/) override {
    events_ = 0;
    lone_null_ = false;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t /*anchor*/) override {
    if (events_++ == 0) {
      lone_null_ = true;
      null_mark_ = mark;
    }
  }
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override { node(); }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override { node(); }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override { node(); }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override { node(); }
  void OnMapEnd() override {}

  // The place of the document just handled when it was nothing but an empty node.
  [[nodiscard]] std::optional<YAML::Mark> lone_null() const {
    if (lone_null_ && events_ == 1) return null_mark_;
    return std::nullopt;
  }

 private:
  void node() {
    ++events_;
    lone_null_ = false;
  }
  std::size_t events_{0};
  bool lone_null_{false};
  YAML::Mark null_mark_;
};

class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  Result<std::vector<Document>> run(std::string_view text) {
    std::vector<Node> docs;
    try {
      const std::string input(text);
      {
        std::istringstream in(input);
        YAML::Parser parser(in);
        DocumentProbe probe;
        std::optional<YAML::Mark> last;
        std::size_t count = 0;
        while (parser.HandleNextDocument(probe)) {
          const auto lone = probe.lone_null();
          if (lone && last && lone->pos == last->pos) {
            return make_error(Errc::invalid_input,
                              "invalid YAML: unexpected token (such as ',' outside [] or {})",
                              at(*lone));
          }
          last = lone;
          if (++count > 2 * kMaxDocuments + 2) {
            return make_error(Errc::invalid_input,
                              "more than " + std::to_string(kMaxDocuments) + " documents",
                              at(lone ? *lone : YAML::Mark::null_mark()));
          }
        }
      }
      docs = YAML::LoadAll(input);
    } catch (const YAML::Exception& e) {
      return make_error(Errc::invalid_input, "invalid YAML: " + e.msg, at(e.mark));
    } catch (const std::exception& e) {
      return make_error(Errc::invalid_input, std::string("invalid YAML: ") + e.what(), file_);
    }
    std::vector<Document> out;
    std::set<std::pair<DocKind, std::string>> seen;
    try {
      for (const auto& d : docs) {
        if (d.IsNull()) continue;  // an empty document (a trailing ---)
        if (out.size() == kMaxDocuments) {
          return fail(d, "", "more than " + std::to_string(kMaxDocuments) + " documents");
        }
        auto doc = document(d);
        if (!doc) return tl::unexpected(doc.error());
        if (!seen.insert({doc->kind, doc->name}).second) {
          return fail(d, "metadata.name",
                      std::string(doc_kind_name(doc->kind)) + " " + quoted(doc->name) +
                          " is defined twice in this file");
        }
        out.push_back(std::move(*doc));
      }
    } catch (const YAML::Exception& e) {
      return make_error(Errc::invalid_input, "invalid YAML: " + e.msg, at(e.mark));
    }
    if (out.empty()) {
      return make_error(Errc::invalid_input,
                        "the file holds no documents: expected apiVersion, kind, metadata, spec",
                        file_ + ":1:1");
    }
    return out;
  }

 private:
  using FieldFn = std::function<Result<void>(const std::string& key, const Node& value,
                                             const std::string& path)>;

  std::string at(const YAML::Mark& m) const {
    if (m.is_null() || m.line < 0) return file_ + ":1:1";
    return file_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
  }
  std::string where(const Node& n) const { return at(n.Mark()); }
  Unexpected fail(const Node& n, const std::string& path, const std::string& message) const {
    return make_error(Errc::invalid_input, path.empty() ? message : path + ": " + message,
                      where(n));
  }
  static std::string found(const Node& n) {
    switch (n.Type()) {
      case YAML::NodeType::Null: return "nothing";
      case YAML::NodeType::Scalar: return quoted(n.Scalar());
      case YAML::NodeType::Sequence: return "a list";
      case YAML::NodeType::Map: return "a mapping";
      default: return "an undefined node";
    }
  }

  Result<void> visit(const Node& n) {
    if (++nodes_ > kMaxNodes) {
      return fail(n, "", "more than " + std::to_string(kMaxNodes) +
                             " YAML nodes read (aliases counted each time they are used)");
    }
    return {};
  }

  Result<void> fields(const Node& n, const std::string& path, const Keys& allowed,
                      const Keys& required, const FieldFn& fn) {
    PF_TRY(visit(n));
    if (!n.IsMap()) {
      return fail(n, path, "expected a mapping with keys " + join(allowed) + ", found " + found(n));
    }
    std::set<std::string> seen;
    for (const auto& kv : n) {
      PF_TRY(visit(kv.first));
      if (!kv.first.IsScalar()) return fail(kv.first, path, "expected a key, found " + found(kv.first));
      const std::string key = kv.first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        return fail(kv.first, path,
                    "unknown key " + quoted(key) + " (known keys: " + join(allowed) + ")");
      }
      if (!seen.insert(key).second) return fail(kv.first, path, "key " + quoted(key) + " given twice");
      PF_TRY(fn(key, kv.second, path.empty() ? key : path + "." + key));
    }
    for (auto r : required) {
      if (!seen.contains(std::string(r))) {
        return fail(n, path, "missing key " + quoted(r) + " (required: " + join(required) + ")");
      }
    }
    return {};
  }

  // The value of key `key` of mapping n, without counting (for peeking at a discriminator).
  static std::optional<Node> peek(const Node& n, std::string_view key) {
    if (!n.IsMap()) return std::nullopt;
    for (const auto& kv : n) {
      if (kv.first.IsScalar() && kv.first.Scalar() == key) return kv.second;
    }
    return std::nullopt;
  }

  Result<std::string> str(const Node& n, const std::string& path, std::string_view expected = "a string",
                          std::size_t max = kMaxString) {
    PF_TRY(visit(n));
    if (!n.IsScalar()) return fail(n, path, "expected " + std::string(expected) + ", found " + found(n));
    if (n.Scalar().size() > max) {
      return fail(n, path, "longer than " + std::to_string(max) + " bytes");
    }
    if (n.Scalar().find('\0') != std::string::npos) return fail(n, path, "contains a NUL byte");
    return n.Scalar();
  }

  Result<std::string> name(const Node& n, const std::string& path) {
    std::string s;
    PF_TRY_ASSIGN(s, str(n, path, "a name"));
    if (!valid_name(s)) {
      return fail(n, path, "expected a name of lower-case letters, digits and '-' "
                           "([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?), found " + quoted(s));
    }
    return s;
  }

  Result<bool> boolean(const Node& n, const std::string& path) {
    std::string s;
    PF_TRY_ASSIGN(s, str(n, path, "true or false"));
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
    return fail(n, path, "expected true or false, found " + quoted(s));
  }

  Result<std::int64_t> integer(const Node& n, const std::string& path, std::int64_t min,
                               std::int64_t max) {
    const std::string expected = "an integer in " + std::to_string(min) + ".." + std::to_string(max);
    std::string s;
    PF_TRY_ASSIGN(s, str(n, path, expected));
    std::int64_t v = 0;
    bool ok = !s.empty() && s.size() <= 12;
    for (std::size_t i = 0; ok && i < s.size(); ++i) {
      if (i == 0 && s[i] == '-' && s.size() > 1) continue;
      if (s[i] < '0' || s[i] > '9') ok = false;
      else v = v * 10 + (s[i] - '0');
    }
    if (ok && s[0] == '-') v = -v;
    if (!ok || v < min || v > max) return fail(n, path, "expected " + expected + ", found " + quoted(s));
    return v;
  }

  Result<std::chrono::seconds> span(const Node& n, const std::string& path, bool allow_zero,
                                    std::int64_t max_s = detail::kMaxSpanS) {
    std::string s;
    PF_TRY_ASSIGN(s, str(n, path, "a duration"));
    auto d = detail::parse_span(s, allow_zero);
    if (!d) return fail(n, path, d.error().message + ", found " + quoted(s));
    if (d->count() > max_s) {
      return fail(n, path, "expected at most " + detail::format_span(std::chrono::seconds{max_s}) +
                               ", found " + quoted(s));
    }
    return *d;
  }

  Result<void> list(const Node& n, const std::string& path,
                    const std::function<Result<void>(const Node&, const std::string&)>& fn,
                    std::size_t max = kMaxItems) {
    PF_TRY(visit(n));
    if (!n.IsSequence()) return fail(n, path, "expected a list, found " + found(n));
    if (n.size() > max) {
      return fail(n, path, "more than " + std::to_string(max) + " items (" + std::to_string(n.size()) + ")");
    }
    std::size_t i = 0;
    for (const auto& item : n) PF_TRY(fn(item, path + "[" + std::to_string(i++) + "]"));
    return {};
  }

  // A list of strings, each checked by ok() (described by `what`), sorted and unique when asked.
  Result<std::vector<std::string>> strings(const Node& n, const std::string& path,
                                           std::string_view what,
                                           const std::function<bool(std::string_view)>& ok,
                                           bool sort) {
    std::vector<std::string> out;
    PF_TRY(list(n, path, [&](const Node& item, const std::string& p) -> Result<void> {
      std::string s;
      PF_TRY_ASSIGN(s, str(item, p, what));
      if (!ok(s)) return fail(item, p, "expected " + std::string(what) + ", found " + quoted(s));
      out.push_back(std::move(s));
      return {};
    }));
    if (sort) {
      std::sort(out.begin(), out.end());
      out.erase(std::unique(out.begin(), out.end()), out.end());
    }
    return out;
  }

  Result<std::vector<std::string>> names(const Node& n, const std::string& path) {
    return strings(n, path, "a name ([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)",
                   [](std::string_view s) { return valid_name(s); }, true);
  }

  Result<Limit> limit(const Node& n, const std::string& path, int min_count) {
    const std::string expected = "a count (" + std::to_string(std::max(min_count, 3)) +
                                 ") or a percentage (25%)";
    std::string s;
    PF_TRY_ASSIGN(s, str(n, path, expected));
    Limit l;
    std::string_view v = s;
    if (!v.empty() && v.back() == '%') {
      l.percent = true;
      v.remove_suffix(1);
    }
    bool ok = !v.empty() && v.size() <= 6;
    int x = 0;
    for (char c : v) {
      if (c < '0' || c > '9') ok = false;
      else x = x * 10 + (c - '0');
    }
    if (ok && l.percent && (x < min_count || x > 100)) ok = false;
    if (ok && !l.percent && (x < min_count || x > 100000)) ok = false;
    if (!ok) return fail(n, path, "expected " + expected + ", found " + quoted(s));
    l.value = x;
    return l;
  }

  Result<Selector> selector(const Node& n, const std::string& path) {
    std::string s;
    PF_TRY_ASSIGN(s, str(n, path, "a label selector"));
    auto sel = parse_selector(s);
    if (!sel) {
      return fail(n, path, "invalid selector " + quoted(s) + " at " + sel.error().where + ": " +
                               sel.error().message);
    }
    return *sel;
  }

  Result<std::vector<std::string>> hosts(const Node& n, const std::string& path) {
    return strings(n, path, "a host name (1..253 of letters, digits, '.', '-', '_')",
                   [](std::string_view s) {
                     if (s.empty() || s.size() > 253) return false;
                     return std::all_of(s.begin(), s.end(), [](char c) {
                       return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                              (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
                     });
                   },
                   true);
  }

  // ----- documents -----

  Result<Document> document(const Node& d) {
    Document doc;
    doc.where = file_ + ":" + std::to_string(d.Mark().line < 0 ? 1 : d.Mark().line + 1);
    const auto kind_node = peek(d, "kind");
    if (d.IsMap() && kind_node && kind_node->IsScalar()) {
      const auto& k = kind_node->Scalar();
      if (k == "Baseline") doc.kind = DocKind::baseline;
      else if (k == "Group") doc.kind = DocKind::group;
      else if (k == "Window") doc.kind = DocKind::window;
      else if (k == "Chain") doc.kind = DocKind::chain;
      else return fail(*kind_node, "kind", "expected Baseline, Group, Window or Chain, found " + quoted(k));
    }
    PF_TRY(fields(d, "", {"apiVersion", "kind", "metadata", "spec"},
                  {"apiVersion", "kind", "metadata", "spec"},
                  [&](const std::string& key, const Node& v, const std::string& p) -> Result<void> {
                    if (key == "apiVersion") {
                      std::string s;
                      PF_TRY_ASSIGN(s, str(v, p, "patchflow/v1"));
                      if (s != "patchflow/v1") return fail(v, p, "expected patchflow/v1, found " + quoted(s));
                    } else if (key == "kind") {
                      std::string s;
                      PF_TRY_ASSIGN(s, str(v, p, "Baseline, Group, Window or Chain"));
                    } else if (key == "metadata") {
                      PF_TRY(metadata(v, p, doc));
                    }
                    return {};
                  }));
    // The spec after the rest, so its errors come after a bad kind or name.
    const Node spec = *peek(d, "spec");
    switch (doc.kind) {
      case DocKind::baseline: {
        Baseline b;
        PF_TRY(baseline(spec, "spec", b));
        doc.spec = std::move(b);
        break;
      }
      case DocKind::group: {
        Group g;
        PF_TRY(group(spec, "spec", g));
        doc.spec = std::move(g);
        break;
      }
      case DocKind::window: {
        WindowDoc w;
        PF_TRY(window_doc(spec, "spec", w));
        doc.spec = std::move(w);
        break;
      }
      case DocKind::chain: {
        Chain c;
        PF_TRY(chain(spec, "spec", c));
        doc.spec = std::move(c);
        break;
      }
    }
    return doc;
  }

  Result<void> metadata(const Node& n, const std::string& path, Document& doc) {
    return fields(n, path, {"name", "labels"}, {"name"},
                  [&](const std::string& key, const Node& v, const std::string& p) -> Result<void> {
                    if (key == "name") {
                      PF_TRY_ASSIGN(doc.name, name(v, p));
                      return {};
                    }
                    PF_TRY(visit(v));
                    if (!v.IsMap()) return fail(v, p, "expected a mapping of labels, found " + found(v));
                    if (v.size() > 64) return fail(v, p, "more than 64 labels");
                    for (const auto& kv : v) {
                      std::string k, val;
                      PF_TRY_ASSIGN(k, str(kv.first, p, "a label key"));
                      if (!detail::valid_label_key(k)) {
                        return fail(kv.first, p, "expected a label key ([a-z0-9][a-z0-9_.-]{0,62}), found " + quoted(k));
                      }
                      PF_TRY_ASSIGN(val, str(kv.second, p + "." + k, "a label value"));
                      if (!detail::valid_label_value(val)) {
                        return fail(kv.second, p + "." + k,
                                    "expected a label value (up to 63 of A-Z a-z 0-9 _ . -), found " + quoted(val));
                      }
                      if (!doc.labels.emplace(k, val).second) return fail(kv.first, p, "label " + quoted(k) + " given twice");
                    }
                    return {};
                  });
  }

  Result<void> baseline(const Node& n, const std::string& path, Baseline& b) {
    const Keys keys{"classifications", "min_severity", "auto_approve_after", "kev_only",
                    "approve",         "reject",       "holds",              "exclude"};
    auto id_ok = [](std::string_view s) {
      return !s.empty() && s.size() <= 128 &&
             std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == ':' || c == '.' || c == '_';
             });
    };
    auto glob_ok = [](std::string_view s) {
      return !s.empty() && s.size() <= 256 &&
             std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == ':' || c == '.' || c == '_' || c == '+' || c == '*' || c == '?';
             });
    };
    return fields(n, path, keys, {}, [&](const std::string& key, const Node& v, const std::string& p) -> Result<void> {
      if (key == "classifications") {
        b.classifications.clear();
        PF_TRY(list(v, p, [&](const Node& item, const std::string& ip) -> Result<void> {
          std::string s;
          PF_TRY_ASSIGN(s, str(item, ip, "security, bugfix or enhancement"));
          advisories::Kind k{};
          if (s == "security") k = advisories::Kind::security;
          else if (s == "bugfix") k = advisories::Kind::bugfix;
          else if (s == "enhancement") k = advisories::Kind::enhancement;
          else return fail(item, ip, "expected security, bugfix or enhancement, found " + quoted(s));
          b.classifications.push_back(k);
          return {};
        }));
        std::sort(b.classifications.begin(), b.classifications.end());
        b.classifications.erase(std::unique(b.classifications.begin(), b.classifications.end()),
                                b.classifications.end());
        if (b.classifications.empty()) return fail(v, p, "expected at least one classification");
      } else if (key == "min_severity") {
        std::string s;
        PF_TRY_ASSIGN(s, str(v, p, "a severity"));
        auto sev = advisories::severity_from_name(s);
        if (!sev || *sev == advisories::Severity::unknown) {
          return fail(v, p, "expected negligible, low, medium, high or critical, found " + quoted(s));
        }
        b.min_severity = *sev;
      } else if (key == "auto_approve_after") {
        PF_TRY_ASSIGN(b.auto_approve_after, span(v, p, true));
      } else if (key == "kev_only") {
        PF_TRY_ASSIGN(b.kev_only, boolean(v, p));
      } else if (key == "approve" || key == "reject") {
        auto& out = key == "approve" ? b.approve : b.reject;
        PF_TRY_ASSIGN(out, strings(v, p, "an advisory or CVE id (DSA-5678-1, CVE-2024-1234)", id_ok, true));
      } else {
        auto& out = key == "holds" ? b.holds : b.exclude;
        PF_TRY_ASSIGN(out, strings(v, p, "a package name or glob (openssl*, lib?ssl3)", glob_ok, true));
      }
      return {};
    });
  }

  Result<void> group(const Node& n, const std::string& path, Group& g) {
    PF_TRY(fields(n, path, {"selector", "hosts", "budget", "windows"}, {},
                  [&](const std::string& key, const Node& v, const std::string& p) -> Result<void> {
                    if (key == "selector") PF_TRY_ASSIGN(g.selector, selector(v, p));
                    else if (key == "hosts") PF_TRY_ASSIGN(g.hosts, hosts(v, p));
                    else if (key == "windows") PF_TRY_ASSIGN(g.windows, names(v, p));
                    else if (v.IsMap()) {
                      PF_TRY(fields(v, p, {"max_in_work"}, {"max_in_work"},
                                    [&](const std::string&, const Node& m, const std::string& mp) -> Result<void> {
                                      PF_TRY_ASSIGN(g.budget, limit(m, mp, 1));
                                      return {};
                                    }));
                    } else {
                      PF_TRY_ASSIGN(g.budget, limit(v, p, 1));
                    }
                    return {};
                  }));
    if (!g.selector && g.hosts.empty()) return fail(n, path, "expected a selector or hosts (or both)");
    return {};
  }

  // make_window's error names the field; map it to that key's node.
  Result<schedule::Window> window_fields(const Node& n, const std::string& path, bool allow_kind) {
    Keys keys{"schedule", "duration", "timezone"};
    if (allow_kind) keys.push_back("kind");
    std::map<std::string, Node> at_key;
    std::map<std::string, std::string> text{{"kind", "maintenance"}};
    PF_TRY(fields(n, path, keys, {"schedule", "duration", "timezone"},
                  [&](const std::string& key, const Node& v, const std::string& p) -> Result<void> {
                    std::string s;
                    PF_TRY_ASSIGN(s, str(v, p, key == "kind" ? "maintenance, blackout or calendar" : "a string"));
                    at_key[key] = v;
                    text[key] = s;
                    return {};
                  }));
    auto w = schedule::make_window(text["schedule"], text["duration"], text["timezone"], text["kind"]);
    if (!w) {
      const std::string& wh = w.error().where;
      std::string key = wh.starts_with("schedule") ? "schedule"
                        : wh.starts_with("duration") ? "duration"
                        : wh.starts_with("zone") ? "timezone"
                        : wh.starts_with("kind") ? "kind"
                                                 : "";
      const Node& node = at_key.contains(key) ? at_key[key] : n;
      std::string detail = w.error().message;
      if (key == "schedule") {
        std::string col = wh.substr(8);
        while (!col.empty() && (col[0] == ':' || col[0] == ' ')) col.erase(0, 1);
        detail = (col.empty() ? "" : col + " of ") + quoted(text[key]) + ": " + detail;
      } else if (!key.empty()) {
        detail += ", found " + quoted(text[key]);
      }
      return fail(node, key.empty() ? path : path + "." + key, detail);
    }
    return *w;
  }

  Result<void> window_doc(const Node& n, const std::string& path, WindowDoc& w) {
    const auto kind = peek(n, "kind");
    if (kind && kind->IsScalar() && kind->Scalar() == "calendar") {
      schedule::Calendar cal;
      Node tz_node;
      std::string tz;
      PF_TRY(fields(n, path, {"kind", "timezone", "weekend", "holidays"}, {"kind", "timezone"},
                    [&](const std::string& key, const Node& v, const std::string& p) -> Result<void> {
                      if (key == "kind") {
                        PF_TRY(visit(v));
                      } else if (key == "timezone") {
                        PF_TRY_ASSIGN(tz, str(v, p, "an IANA time zone"));
                        tz_node = v;
                      } else if (key == "weekend") {
                        cal.weekend.clear();
                        PF_TRY(list(v, p, [&](const Node& item, const std::string& ip) -> Result<void> {
                          std::string s;
                          PF_TRY_ASSIGN(s, str(item, ip, "a weekday"));
                          auto d = detail::parse_weekday(s);
                          if (!d) return fail(item, ip, d.error().message + ", found " + quoted(s));
                          if (std::find(cal.weekend.begin(), cal.weekend.end(), *d) == cal.weekend.end()) {
                            cal.weekend.push_back(*d);
                          }
                          return {};
                        }, 7));
                        std::sort(cal.weekend.begin(), cal.weekend.end(), [](auto a, auto b) {
                          return a.iso_encoding() < b.iso_encoding();
                        });
                        if (cal.weekend.size() == 7) return fail(v, p, "a week without business days");
                      } else {
                        PF_TRY(list(v, p, [&](const Node& item, const std::string& ip) -> Result<void> {
                          std::string s;
                          PF_TRY_ASSIGN(s, str(item, ip, "a date YYYY-MM-DD"));
                          auto d = detail::parse_date(s);
                          if (!d) return fail(item, ip, d.error().message + ", found " + quoted(s));
                          cal.holidays.push_back(*d);
                          return {};
                        }, schedule::kMaxHolidays));
                        std::sort(cal.holidays.begin(), cal.holidays.end());
                        cal.holidays.erase(std::unique(cal.holidays.begin(), cal.holidays.end()), cal.holidays.end());
                      }
                      return {};
                    }));
      auto zone = schedule::Zone::find(tz);
      if (!zone) return fail(tz_node, path + ".timezone", zone.error().message + ", found " + quoted(tz));
      cal.zone = *zone;
      w.calendar = std::move(cal);
      return {};
    }
    PF_TRY_ASSIGN(w.window, window_fields(n, path, true));
    return {};
  }

  // ----- chains -----

  Result<void> chain(const Node& n, const std::string& path, Chain& c) {
    std::vector<Node> stage_nodes;
    PF_TRY(fields(n, path, {"patches", "windows", "window", "calendar", "emergency", "stages"},
                  {"patches", "stages"},
                  [&](const std::string& key, const Node& v, const std::string& p) -> Result<void> {
                    if (key == "patches") {
                      return fields(v, p, {"baseline"}, {"baseline"},
                                    [&](const std::string&, const Node& b, const std::string& bp) -> Result<void> {
                                      PF_TRY_ASSIGN(c.baseline, name(b, bp));
                                      return {};
                                    });
                    }
                    if (key == "windows") {
                      PF_TRY_ASSIGN(c.windows, names(v, p));
                    } else if (key == "window") {
                      PF_TRY_ASSIGN(c.window, window_fields(v, p, true));
                    } else if (key == "calendar") {
                      PF_TRY_ASSIGN(c.calendar, name(v, p));
                    } else if (key == "emergency") {
                      return fields(v, p, {"allowed"}, {"allowed"},
                                    [&](const std::string&, const Node& b, const std::string& bp) -> Result<void> {
                                      PF_TRY_ASSIGN(c.emergency_allowed, boolean(b, bp));
                                      return {};
                                    });
                    } else {
                      PF_TRY(list(v, p, [&](const Node& item, const std::string& ip) -> Result<void> {
                        Stage s;
                        PF_TRY(stage(item, ip, s));
                        for (const auto& other : c.stages) {
                          if (other.name == s.name) return fail(item, ip, "stage name " + quoted(s.name) + " used twice");
                        }
                        c.stages.push_back(std::move(s));
                        stage_nodes.push_back(item);
                        return {};
                      }, 100));
                      if (c.stages.empty()) return fail(v, p, "expected at least one stage");
                    }
                    return {};
                  }));
    // Gates are checked once every stage name is known.
    std::vector<std::string> stage_names;
    for (const auto& s : c.stages) stage_names.push_back(s.name);
    const auto env = cel::stages_env(stage_names);
    for (std::size_t i = 0; i < c.stages.size(); ++i) {
      const auto& s = c.stages[i];
      if (s.when.empty()) continue;
      const std::string p = path + ".stages[" + std::to_string(i) + "].when";
      auto expr = cel::parse(s.when);
      Result<void> ok = expr ? cel::check_condition(*expr, env) : Result<void>(tl::unexpected(expr.error()));
      if (!ok) {
        return make_error(Errc::invalid_input,
                          p + ": at " + ok.error().where + " of the condition: " + ok.error().message,
                          s.when_where);
      }
    }
    return {};
  }

  // One step of preconditions / pre / post. kind_list: "preconditions", "pre", "post".
  Result<jobs::Step> step(const Node& n, const std::string& path, const std::string& kind_list,
                          std::size_t index) {
    jobs::Step st;
    PF_TRY(visit(n));
    if (!n.IsMap()) return fail(n, path, "expected a mapping with check or run, found " + found(n));
    const auto check_node = peek(n, "check");
    const auto run_node = peek(n, "run");
    if (check_node && run_node) return fail(n, path, "expected check or run, not both");
    if (!check_node && !run_node) return fail(n, path, "expected a key check or run");
    Keys keys{"name", "timeout"};
    if (run_node) {
      keys.insert(keys.end(), {"run", "allowed_exit"});
      st.type = kind_list == "preconditions" ? jobs::StepType::check : jobs::StepType::command;
      if (st.type == jobs::StepType::check) st.check.kind = jobs::CheckKind::command;
    } else {
      st.type = jobs::StepType::check;
      std::string k;
      PF_TRY_ASSIGN(k, str(*check_node, path + ".check", "a check kind"));
      static const std::pair<std::string_view, jobs::CheckKind> kinds[] = {
          {"disk_free", jobs::CheckKind::disk_free},       {"service_active", jobs::CheckKind::service_active},
          {"port_open", jobs::CheckKind::port_open},       {"http_ok", jobs::CheckKind::http_ok},
          {"file_absent", jobs::CheckKind::file_absent},   {"file_present", jobs::CheckKind::file_present},
          {"process_absent", jobs::CheckKind::process_absent}, {"uptime_min", jobs::CheckKind::uptime_min},
          {"on_ac_power", jobs::CheckKind::on_ac_power}};
      bool known = false;
      for (const auto& [nm, kk] : kinds) {
        if (nm == k) {
          st.check.kind = kk;
          known = true;
        }
      }
      if (!known) {
        return fail(*check_node, path + ".check",
                    "expected disk_free, service_active, port_open, http_ok, file_absent, "
                    "file_present, process_absent, uptime_min or on_ac_power, found " + quoted(k));
      }
      keys.push_back("check");
      switch (st.check.kind) {
        case jobs::CheckKind::disk_free: keys.insert(keys.end(), {"path", "min_free_mb"}); break;
        case jobs::CheckKind::service_active: keys.push_back("unit"); break;
        case jobs::CheckKind::port_open: keys.insert(keys.end(), {"host", "port"}); break;
        case jobs::CheckKind::http_ok: keys.insert(keys.end(), {"url", "expect_status"}); break;
        case jobs::CheckKind::file_absent:
        case jobs::CheckKind::file_present: keys.push_back("path"); break;
        case jobs::CheckKind::process_absent: keys.push_back("process"); break;
        case jobs::CheckKind::uptime_min: keys.push_back("seconds"); break;
        default: break;
      }
    }
    st.timeout = std::chrono::seconds{st.type == jobs::StepType::command ? 300 : 30};
    bool named = false;
    jobs::Command& cmd = st.type == jobs::StepType::command ? st.command : st.check.command;
    PF_TRY(fields(n, path, keys, {}, [&](const std::string& key, const Node& v, const std::string& p) -> Result<void> {
      if (key == "name") {
        std::string s;
        PF_TRY_ASSIGN(s, str(v, p, "a step name"));
        if (s.empty() || s.size() > 64 || jobs::is_reserved_step_id(s) ||
            !std::all_of(s.begin(), s.end(), [](char ch) {
              return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-';
            }) || s[0] == '_' || s[0] == '.' || s[0] == '-') {
          return fail(v, p, "expected a step name ([a-z0-9][a-z0-9_.-]{0,63}, not install, baseline, "
                            "health, rollback, postponed or reboot.*), found " + quoted(s));
        }
        st.id = s;
        named = true;
      } else if (key == "timeout") {
        PF_TRY_ASSIGN(st.timeout, span(v, p, false, jobs::kMaxTimeoutS));
      } else if (key == "run") {
        PF_TRY(visit(v));
        if (v.IsSequence()) {
          PF_TRY_ASSIGN(cmd.argv, strings(v, p, "an argument", [](std::string_view) { return true; }, false));
          if (cmd.argv.empty() || cmd.argv[0].empty()) return fail(v, p, "expected a program and its arguments, found an empty list");
        } else {
          PF_TRY_ASSIGN(cmd.shell, str(v, p, "shell text or a list of arguments", kMaxShell));
          if (cmd.shell.empty()) return fail(v, p, "expected shell text or a list of arguments, found \"\"");
        }
      } else if (key == "allowed_exit") {
        cmd.ok_exit_codes.clear();
        PF_TRY(list(v, p, [&](const Node& item, const std::string& ip) -> Result<void> {
          std::int64_t code = 0;
          PF_TRY_ASSIGN(code, integer(item, ip, 0, 255));
          cmd.ok_exit_codes.push_back(static_cast<int>(code));
          return {};
        }, 256));
        if (cmd.ok_exit_codes.empty()) return fail(v, p, "expected at least one exit code");
        // The job form keeps them sorted and unique.
        std::sort(cmd.ok_exit_codes.begin(), cmd.ok_exit_codes.end());
        cmd.ok_exit_codes.erase(std::unique(cmd.ok_exit_codes.begin(), cmd.ok_exit_codes.end()), cmd.ok_exit_codes.end());
      } else if (key == "path") {
        PF_TRY_ASSIGN(st.check.path, str(v, p, "an absolute path"));
        if (!st.check.path.starts_with("/")) return fail(v, p, "expected an absolute path, found " + quoted(st.check.path));
      } else if (key == "min_free_mb") {
        std::int64_t x = 0;
        PF_TRY_ASSIGN(x, integer(v, p, 0, 1LL << 40));
        st.check.min_free_mb = static_cast<std::uint64_t>(x);
      } else if (key == "unit") {
        PF_TRY_ASSIGN(st.check.unit, str(v, p, "a systemd unit"));
      } else if (key == "host") {
        PF_TRY_ASSIGN(st.check.host, str(v, p, "a host name"));
      } else if (key == "port") {
        std::int64_t x = 0;
        PF_TRY_ASSIGN(x, integer(v, p, 1, 65535));
        st.check.port = static_cast<int>(x);
      } else if (key == "url") {
        PF_TRY_ASSIGN(st.check.url, str(v, p, "an http(s) URL"));
      } else if (key == "expect_status") {
        std::int64_t x = 0;
        PF_TRY_ASSIGN(x, integer(v, p, 0, 599));
        st.check.expect_status = static_cast<int>(x);
      } else if (key == "process") {
        PF_TRY_ASSIGN(st.check.name, str(v, p, "a process name"));
      } else if (key == "seconds") {
        PF_TRY_ASSIGN(st.check.seconds, integer(v, p, 0, 10LL * 365 * 86400));
      }
      return {};
    }));
    if (!named) {
      if (kind_list == "post") return fail(n, path, "missing key \"name\" (post steps are named: gates read h.post['NAME'])");
      st.id = (kind_list == "preconditions" ? "precondition-" : "pre-") + std::to_string(index + 1);
    }
    return st;
  }

  Result<void> steps(const Node& v, const std::string& p, const std::string& kind_list,
                     std::vector<jobs::Step>& out, std::vector<YAML::Mark>& marks) {
    std::size_t i = 0;
    return list(v, p, [&](const Node& item, const std::string& ip) -> Result<void> {
      jobs::Step s;
      PF_TRY_ASSIGN(s, step(item, ip, kind_list, i++));
      out.push_back(std::move(s));
      marks.push_back(item.Mark());
      return {};
    }, 50);
  }

  Result<void> health(const Node& n, const std::string& path, jobs::Baseline& h) {
    return fields(n, path, {"probes", "rollback_on_regression"}, {},
                  [&](const std::string& key, const Node& v, const std::string& p) -> Result<void> {
      if (key == "rollback_on_regression") {
        PF_TRY_ASSIGN(h.rollback_on_regression, boolean(v, p));
        return {};
      }
      return list(v, p, [&](const Node& item, const std::string& ip) -> Result<void> {
        jobs::Probe pr;
        bool has_run = false, has_url = false;
        PF_TRY(fields(item, ip, {"name", "run", "url", "allowed_exit", "expect_status", "timeout"}, {"name"},
                      [&](const std::string& k, const Node& x, const std::string& xp) -> Result<void> {
          if (k == "name") {
            PF_TRY_ASSIGN(pr.name, name(x, xp));
          } else if (k == "run") {
            has_run = true;
            PF_TRY(visit(x));
            if (x.IsSequence()) {
              PF_TRY_ASSIGN(pr.argv, strings(x, xp, "an argument", [](std::string_view) { return true; }, false));
              if (pr.argv.empty() || pr.argv[0].empty()) return fail(x, xp, "expected a program and its arguments");
            } else {
              std::string s;
              PF_TRY_ASSIGN(s, str(x, xp, "shell text or a list of arguments", kMaxShell));
              if (s.empty()) return fail(x, xp, "expected shell text or a list of arguments, found \"\"");
              pr.argv = {"/bin/sh", "-c", s};
            }
          } else if (k == "url") {
            has_url = true;
            pr.kind = jobs::Probe::Kind::http;
            PF_TRY_ASSIGN(pr.url, str(x, xp, "an http(s) URL"));
            if (!pr.url.starts_with("http://") && !pr.url.starts_with("https://")) {
              return fail(x, xp, "expected an http:// or https:// URL, found " + quoted(pr.url));
            }
          } else if (k == "allowed_exit") {
            pr.ok_exit_codes.clear();
            PF_TRY(list(x, xp, [&](const Node& c, const std::string& cp) -> Result<void> {
              std::int64_t code = 0;
              PF_TRY_ASSIGN(code, integer(c, cp, 0, 255));
              pr.ok_exit_codes.push_back(static_cast<int>(code));
              return {};
            }, 256));
            if (pr.ok_exit_codes.empty()) return fail(x, xp, "expected at least one exit code");
            std::sort(pr.ok_exit_codes.begin(), pr.ok_exit_codes.end());
            pr.ok_exit_codes.erase(std::unique(pr.ok_exit_codes.begin(), pr.ok_exit_codes.end()), pr.ok_exit_codes.end());
          } else if (k == "expect_status") {
            std::int64_t st = 0;
            PF_TRY_ASSIGN(st, integer(x, xp, 0, 599));
            pr.expect_status = static_cast<int>(st);
          } else {
            PF_TRY_ASSIGN(pr.timeout, span(x, xp, false, 3600));
          }
          return {};
        }));
        if (has_run == has_url) return fail(item, ip, "expected run or url (one of them)");
        for (const auto& other : h.probes) {
          if (other.name == pr.name) return fail(item, ip, "probe name " + quoted(pr.name) + " used twice");
        }
        h.probes.push_back(std::move(pr));
        return {};
      }, 50);
    });
  }

  Result<void> stage(const Node& n, const std::string& path, Stage& s) {
    s.where = where(n);
    std::map<std::string, std::vector<YAML::Mark>> marks;
    const Keys keys{"name", "after", "when", "targets", "rollout", "preconditions", "retry", "pre", "post",
                    "reboot", "health", "soak", "approval", "timeout", "expected_duration"};
    PF_TRY(fields(n, path, keys, {"name", "targets"},
                  [&](const std::string& key, const Node& v, const std::string& p) -> Result<void> {
      if (key == "name") {
        PF_TRY_ASSIGN(s.name, name(v, p));
      } else if (key == "after") {
        PF_TRY_ASSIGN(s.after, names(v, p));
      } else if (key == "when") {
        PF_TRY_ASSIGN(s.when, str(v, p, "a condition", cel::kMaxSourceBytes));
        s.when_where = where(v);
        if (s.when.empty()) return fail(v, p, "expected a condition, found \"\"");
      } else if (key == "targets") {
        PF_TRY(fields(v, p, {"selector", "group", "hosts"}, {},
                      [&](const std::string& k, const Node& x, const std::string& xp) -> Result<void> {
          if (k == "selector") PF_TRY_ASSIGN(s.targets.selector, selector(x, xp));
          else if (k == "group") PF_TRY_ASSIGN(s.targets.group, name(x, xp));
          else PF_TRY_ASSIGN(s.targets.hosts, hosts(x, xp));
          return {};
        }));
        if (!s.targets.selector && s.targets.group.empty() && s.targets.hosts.empty()) {
          return fail(v, p, "expected at least one of selector, group, hosts");
        }
      } else if (key == "rollout") {
        PF_TRY(fields(v, p, {"max_parallel", "max_failed"}, {},
                      [&](const std::string& k, const Node& x, const std::string& xp) -> Result<void> {
          if (k == "max_parallel") PF_TRY_ASSIGN(s.rollout.max_parallel, limit(x, xp, 1));
          else PF_TRY_ASSIGN(s.rollout.max_failed, limit(x, xp, 0));
          return {};
        }));
      } else if (key == "preconditions" || key == "pre" || key == "post") {
        auto& out = key == "preconditions" ? s.preconditions : key == "pre" ? s.pre : s.post;
        PF_TRY(steps(v, p, key, out, marks[key]));
      } else if (key == "retry") {
        RetryPolicy r;
        PF_TRY(fields(v, p, {"interval", "for"}, {"for"},
                      [&](const std::string& k, const Node& x, const std::string& xp) -> Result<void> {
          if (k == "interval") PF_TRY_ASSIGN(r.interval, span(x, xp, false, 86400));
          else PF_TRY_ASSIGN(r.for_duration, span(x, xp, false, 31LL * 86400));
          return {};
        }));
        s.retry = r;
      } else if (key == "reboot") {
        std::string r;
        PF_TRY_ASSIGN(r, str(v, p, "never, if_required or always"));
        if (r == "never") s.reboot = jobs::Reboot::Policy::never;
        else if (r == "if_required") s.reboot = jobs::Reboot::Policy::if_required;
        else if (r == "always") s.reboot = jobs::Reboot::Policy::always;
        else return fail(v, p, "expected never, if_required or always, found " + quoted(r));
      } else if (key == "health") {
        jobs::Baseline h;
        PF_TRY(health(v, p, h));
        s.health = std::move(h);
      } else if (key == "soak") {
        std::string t;
        PF_TRY_ASSIGN(t, str(v, p, "a soak"));
        auto soak = detail::parse_soak(t);
        if (!soak || soak->none()) {
          return fail(v, p, (soak ? std::string("expected \"N business days\" or a duration such as 2h or 1d")
                                  : soak.error().message) + ", found " + quoted(t));
        }
        s.soak = *soak;
      } else if (key == "approval") {
        PF_TRY(fields(v, p, {"required"}, {"required"},
                      [&](const std::string&, const Node& x, const std::string& xp) -> Result<void> {
          PF_TRY_ASSIGN(s.approval_required, boolean(x, xp));
          return {};
        }));
      } else if (key == "timeout") {
        PF_TRY_ASSIGN(s.timeout, span(v, p, false, 7LL * 86400));
      } else {
        PF_TRY_ASSIGN(s.expected_duration, span(v, p, false, 31LL * 86400));
      }
      return {};
    }));
    // The steps by the jobs rules (ids unique across the lists, bounds, ...).
    auto job = jobs::parse_job(jobs::to_json(detail::stage_job(s)));
    if (!job) {
      const std::string& jw = job.error().where;  // "$.pre[2].id"
      YAML::Mark mark = n.Mark();
      for (const auto& [list_name, ms] : marks) {
        const std::string prefix = "$." + list_name + "[";
        if (!jw.starts_with(prefix)) continue;
        std::size_t idx = 0, i = prefix.size();
        while (i < jw.size() && jw[i] >= '0' && jw[i] <= '9' && idx < 100000) idx = idx * 10 + (jw[i++] - '0');
        if (idx < ms.size()) mark = ms[idx];
      }
      std::string rel = jw.starts_with("$.") ? jw.substr(2) : jw;
      return make_error(Errc::invalid_input, path + "." + rel + ": " + job.error().message, at(mark));
    }
    return {};
  }

  std::string file_;
  std::size_t nodes_{0};
};

// The offset of the first byte that is not part of valid UTF-8 (no overlongs, surrogates or
// code points above U+10FFFF), or npos.
std::size_t invalid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
      cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      cp = c & 0x07u;
    } else {
      return i;
    }
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return i;
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0u) != 0x80u) return i;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF))) {
      return i;
    }
    i += n + 1;
  }
  return std::string_view::npos;
}

}  // namespace

Result<std::vector<Document>> parse_documents(std::string_view text, std::string_view file) {
  const std::string f = file.empty() ? std::string("<input>") : std::string(file.substr(0, 4096));
  if (text.size() > kMaxFileBytes) {
    return make_error(Errc::invalid_input,
                      "the file is larger than 1 MiB (" + std::to_string(text.size()) + " bytes)",
                      f + ":1:1");
  }
  if (const auto bad = invalid_utf8(text); bad != std::string_view::npos) {
    std::size_t line = 1, col = 1;
    for (std::size_t i = 0; i < bad; ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else if ((static_cast<unsigned char>(text[i]) & 0xC0u) != 0x80u) {
        ++col;
      }
    }
    return make_error(Errc::invalid_input,
                      "the file is not valid UTF-8 (byte " + std::to_string(static_cast<unsigned char>(text[bad])) + ")",
                      f + ":" + std::to_string(line) + ":" + std::to_string(col));
  }
  return Reader(f).run(text);
}

}  // namespace pf::policy
