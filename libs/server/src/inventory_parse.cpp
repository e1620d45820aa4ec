// SPDX-License-Identifier: Apache-2.0
// PUT /agent/v1/inventory read with nlohmann's SAX interface. Building the document of a large
// inventory, freeing it and looking its fields up cost more than a third of the server's time
// per upload; here every string goes from the lexer straight into its row.
//
// The errors are those the document-based reader gave (and the integration tests check), so
// the pass cannot refuse at the first bad value: malformed JSON later in the text wins over it,
// a key given twice counts with its last value, and the order of the checks is fixed (hash,
// packages, updates) whatever the order of the keys. So each field's last value is kept (the
// string, or just its JSON type when it is not one), a row is checked when its object ends,
// the first error of each list is remembered, and the verdict is given at the end.
#include "inventory_parse.hpp"

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

namespace pf::server {
namespace {

using json = nlohmann::json;

constexpr std::size_t kMaxAdvisories = 1000;  // per update

// The JSON type of a value, as error messages name it.
enum class Kind : std::uint8_t { absent, null, string, boolean, number, object, array };

std::string_view kind_name(Kind k) {
  switch (k) {
    case Kind::absent:
    case Kind::null: return "null";
    case Kind::object: return "an object";
    case Kind::array: return "an array";
    case Kind::string: return "a string";
    case Kind::boolean: return "a boolean";
    case Kind::number: return "a number";
  }
  return "a number";
}

bool missing(Kind k) { return k == Kind::absent || k == Kind::null; }

// The keys that are read; everything else is skipped.
enum class Key : std::uint8_t {
  other,
  // top level
  hash, packages, updates,
  // row fields (text first, in the order they are checked)
  name, arch, version, source, source_version, installed, candidate, origin, held_reason,
  security, advisories,
};
constexpr std::size_t kKeys = static_cast<std::size_t>(Key::advisories) + 1;

Key top_key(std::string_view k) {
  if (k == "hash") return Key::hash;
  if (k == "packages") return Key::packages;
  if (k == "updates") return Key::updates;
  return Key::other;
}

Key package_key(std::string_view k) {
  if (k == "name") return Key::name;
  if (k == "version") return Key::version;
  if (k == "arch") return Key::arch;
  if (k == "source") return Key::source;
  if (k == "source_version") return Key::source_version;
  return Key::other;
}

Key update_key(std::string_view k) {
  if (k == "name") return Key::name;
  if (k == "candidate") return Key::candidate;
  if (k == "installed") return Key::installed;
  if (k == "arch") return Key::arch;
  if (k == "origin") return Key::origin;
  if (k == "security") return Key::security;
  if (k == "advisories") return Key::advisories;
  if (k == "held_reason") return Key::held_reason;
  return Key::other;
}

// The last value given for a field: its type, and the text when it is a string.
struct Value {
  Kind kind{Kind::absent};
  std::string text;
};

// A row's "advisories": the strings kept, how many elements, the first bad one.
struct AdvisoryList {
  Kind kind{Kind::absent};
  std::size_t count{0};
  std::vector<std::string> items;
  std::optional<std::pair<std::size_t, std::string>> bad;  // index, message
};

// "packages" or "updates".
struct List {
  std::string_view name;
  Kind kind{Kind::absent};
  std::size_t count{0};                       // elements seen
  std::optional<InventoryError> first_error;  // of the rows, in order
};

std::string row_path(std::string_view list, std::size_t i) {
  return std::string(list) + "[" + std::to_string(i) + "]";
}

// Where the reader is: the containers it descends into. Others are skipped by counting.
enum class Level : std::uint8_t { top, list, row, advisories };

class Reader {
 public:
  // The SAX interface (nlohmann::json_sax).
  bool null() { return scalar(Kind::null); }
  bool boolean(bool v) {
    bool_ = v;
    return scalar(Kind::boolean);
  }
  bool number_integer(json::number_integer_t) { return scalar(Kind::number); }
  bool number_unsigned(json::number_unsigned_t) { return scalar(Kind::number); }
  bool number_float(json::number_float_t, const std::string&) { return scalar(Kind::number); }
  bool binary(json::binary_t&) { return scalar(Kind::number); }  // not in JSON text
  bool string(std::string& s) {
    str_ = &s;
    return scalar(Kind::string);
  }
  bool key(std::string& k) {
    if (skip_ > 0) return true;
    if (levels_.back() == Level::top) {
      key_ = top_key(k);
    } else if (levels_.back() == Level::row) {
      key_ = list_ == &packages_ ? package_key(k) : update_key(k);
    }
    return true;
  }
  bool start_object(std::size_t) { return start(Kind::object); }
  bool start_array(std::size_t) { return start(Kind::array); }
  bool end_object() { return end(); }
  bool end_array() { return end(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
    // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." → the message.
    // A number too large for a double ends up here too (out_of_range.406).
    std::string what = e.what();
    if (const auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    malformed_ = "malformed JSON: " + what;
    return false;
  }

  tl::expected<InventoryBody, InventoryError> result() && {
    const auto fail = [](std::string message, std::string field) {
      return tl::unexpected(InventoryError{std::move(message), std::move(field)});
    };
    if (malformed_) return fail(std::move(*malformed_), "body");
    if (!object_) return fail("the body must be a JSON object", "body");
    if (auto e = check_text(hash_, true, "hash")) return tl::unexpected(std::move(*e));
    if (hash_.text.empty()) return fail("empty", "hash");
    for (List* list : {&packages_, &updates_}) {
      if (missing(list->kind)) continue;
      if (list->kind != Kind::array) return fail("expected an array", std::string(list->name));
      if (list->count > store::kMaxInventoryRows) {
        return fail("more than " + std::to_string(store::kMaxInventoryRows) + " rows",
                    std::string(list->name));
      }
      if (list->first_error) return tl::unexpected(std::move(*list->first_error));
    }
    body_.hash = std::move(hash_.text);
    if (auto ok = store::validate_inventory(body_.hash, body_.packages, body_.updates); !ok) {
      return fail(std::move(ok.error().message), std::move(ok.error().where));
    }
    return std::move(body_);
  }

 private:
  // Reading a row's field in the document-based reader's words (string_field).
  static std::optional<InventoryError> check_text(const Value& v, bool required,
                                                  std::string field) {
    if (missing(v.kind)) {
      if (!required) return std::nullopt;
      return InventoryError{"missing", std::move(field)};
    }
    if (v.kind != Kind::string) {
      return InventoryError{"expected a string, got " + std::string(kind_name(v.kind)),
                            std::move(field)};
    }
    if (v.text.size() > store::kMaxFactField) {
      return InventoryError{"longer than " + std::to_string(store::kMaxFactField) + " bytes",
                            std::move(field)};
    }
    if (v.text.find('\0') != std::string::npos) {
      return InventoryError{"contains a NUL", std::move(field)};
    }
    return std::nullopt;
  }

  Value& field(Key k) { return fields_[static_cast<std::size_t>(k)]; }

  // Moves text field `k` of the current row to `out`; false (and the list's first error
  // remembered) when it is not acceptable.
  bool take(Key k, std::string_view key, bool required, std::string& out) {
    Value& v = field(k);
    if (v.kind == Kind::string && v.text.size() <= store::kMaxFactField &&
        v.text.find('\0') == std::string::npos) {
      out = std::move(v.text);
      return true;
    }
    auto e = check_text(v, required, row_path(list_->name, list_->count) + "." + std::string(key));
    if (!e) return true;
    list_->first_error = std::move(*e);
    return false;
  }

  void reset_row() {
    for (auto& f : fields_) {
      f.kind = Kind::absent;
      f.text.clear();
    }
    advisories_ = AdvisoryList{};
  }

  void reset_list(List& list, Kind kind) {
    list.kind = kind;
    list.count = 0;
    list.first_error.reset();
    if (&list == &packages_) {
      body_.packages.clear();
    } else {
      body_.updates.clear();
    }
  }

  // A row object ended: check it in the fixed order and keep it. Rows after the list's first
  // error are not kept (the upload is refused anyway).
  void finish_row() {
    if (list_->first_error) return;
    if (list_ == &packages_) {
      inventory::Package p;
      if (take(Key::name, "name", true, p.name) && take(Key::arch, "arch", false, p.arch) &&
          take(Key::version, "version", true, p.version) &&
          take(Key::source, "source", false, p.source_name) &&
          take(Key::source_version, "source_version", false, p.source_version)) {
        body_.packages.push_back(std::move(p));
      }
      return;
    }
    store::AvailableUpdate u;
    if (!(take(Key::name, "name", true, u.name) && take(Key::arch, "arch", false, u.arch) &&
          take(Key::installed, "installed", false, u.installed_version) &&
          take(Key::candidate, "candidate", true, u.candidate_version) &&
          take(Key::origin, "origin", false, u.origin) &&
          take(Key::held_reason, "held_reason", false, u.held_reason))) {
      return;
    }
    const std::string where = row_path(list_->name, list_->count);
    const Value& security = field(Key::security);
    if (!missing(security.kind) && security.kind != Kind::boolean) {
      list_->first_error = InventoryError{
          "expected true or false, got " + std::string(kind_name(security.kind)),
          where + ".security"};
      return;
    }
    u.security = security.kind == Kind::boolean && security_;
    if (!missing(advisories_.kind)) {
      const std::string at = where + ".advisories";
      if (advisories_.kind != Kind::array) {
        list_->first_error = InventoryError{
            "expected an array of strings, got " + std::string(kind_name(advisories_.kind)), at};
        return;
      }
      if (advisories_.count > kMaxAdvisories) {
        list_->first_error =
            InventoryError{"more than " + std::to_string(kMaxAdvisories) + " items", at};
        return;
      }
      if (advisories_.bad) {
        list_->first_error =
            InventoryError{std::move(advisories_.bad->second),
                           at + "[" + std::to_string(advisories_.bad->first) + "]"};
        return;
      }
      u.advisories = std::move(advisories_.items);
    }
    body_.updates.push_back(std::move(u));
  }

  // An element of a row's advisories (`s` when it is a string).
  void advisory(Kind k, std::string* s) {
    const std::size_t j = advisories_.count++;
    if (advisories_.bad || advisories_.count > kMaxAdvisories) return;
    if (k != Kind::string) {
      advisories_.bad.emplace(j, "expected a string");
    } else if (s->size() > store::kMaxFactField) {
      advisories_.bad.emplace(j, "longer than " + std::to_string(store::kMaxFactField));
    } else {
      advisories_.items.push_back(std::move(*s));
    }
  }

  // A value that is not a container, or the start of one (kind object or array) that the
  // caller then descends into or skips.
  void value(Kind k) {
    switch (levels_.back()) {
      case Level::top:
        if (key_ == Key::hash) {
          hash_.kind = k;
          if (k == Kind::string) hash_.text = std::move(*str_);
        } else if (key_ == Key::packages) {
          reset_list(packages_, k);
        } else if (key_ == Key::updates) {
          reset_list(updates_, k);
        }
        break;
      case Level::list:
        // An element that is not an object (objects are rows, see start()).
        if (!list_->first_error && list_->count < store::kMaxInventoryRows) {
          list_->first_error =
              InventoryError{"expected an object", row_path(list_->name, list_->count)};
        }
        ++list_->count;
        break;
      case Level::row:
        if (key_ == Key::advisories) {
          advisories_ = AdvisoryList{};
          advisories_.kind = k;
        } else if (key_ == Key::security) {
          field(key_).kind = k;
          security_ = bool_;
        } else if (key_ != Key::other) {
          Value& v = field(key_);
          v.kind = k;
          if (k == Kind::string) v.text = std::move(*str_);
        }
        break;
      case Level::advisories:
        advisory(k, k == Kind::string ? str_ : nullptr);
        break;
    }
  }

  bool scalar(Kind k) {
    if (skip_ > 0) return true;
    if (levels_.empty()) return true;  // a top-level scalar: not an object
    value(k);
    return true;
  }

  bool start(Kind k) {
    if (skip_ > 0) {
      ++skip_;
      return true;
    }
    if (levels_.empty()) {
      if (k == Kind::object) {
        object_ = true;
        levels_.push_back(Level::top);
      } else {
        skip_ = 1;
      }
      return true;
    }
    const Level at = levels_.back();
    if (at == Level::top && k == Kind::array && (key_ == Key::packages || key_ == Key::updates)) {
      list_ = key_ == Key::packages ? &packages_ : &updates_;
      reset_list(*list_, Kind::array);
      levels_.push_back(Level::list);
      return true;
    }
    if (at == Level::list && k == Kind::object) {
      if (list_->first_error || list_->count >= store::kMaxInventoryRows) {
        ++list_->count;  // not read: the upload is refused anyway
        skip_ = 1;
        return true;
      }
      reset_row();
      levels_.push_back(Level::row);
      return true;
    }
    if (at == Level::row && k == Kind::array && key_ == Key::advisories) {
      advisories_ = AdvisoryList{};
      advisories_.kind = Kind::array;
      levels_.push_back(Level::advisories);
      return true;
    }
    value(k);
    skip_ = 1;
    return true;
  }

  bool end() {
    if (skip_ > 0) {
      --skip_;
      return true;
    }
    const Level done = levels_.back();
    levels_.pop_back();
    if (done == Level::row) {
      finish_row();
      ++list_->count;
    }
    return true;
  }

  std::vector<Level> levels_;
  std::size_t skip_{0};  // depth inside a skipped container
  Key key_{Key::other};  // of the value that follows
  std::string* str_{nullptr};
  bool bool_{false};
  bool object_{false};  // the body is an object
  std::optional<std::string> malformed_;

  Value hash_;
  List packages_{"packages"};
  List updates_{"updates"};
  List* list_{nullptr};  // the list being read
  std::array<Value, kKeys> fields_;  // of the row being read
  bool security_{false};
  AdvisoryList advisories_;
  InventoryBody body_;
};

}  // namespace

tl::expected<InventoryBody, InventoryError> parse_inventory(std::string_view body) {
  Reader reader;
  (void)json::sax_parse(body.begin(), body.end(), &reader);
  return std::move(reader).result();
}

}  // namespace pf::server
