// SPDX-License-Identifier: Apache-2.0
// Red Hat CSAF 2.0 documents (RHSA advisories and per-CVE VEX files) into Advisory.
//
// A CSAF document refers to products by id: product_status lists ids that product_tree
// defines, either as a product of a branch or as a relationship ("component X as a component
// of platform Y"). The tree may come after the vulnerabilities, so one pass collects what is
// needed (with the position of every reference, for errors), and the resolution follows.
#include <algorithm>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common.hpp"
#include "patchflow/core/versions.hpp"

namespace pf::feeds::detail {
namespace {

namespace adv = pf::advisories;

constexpr std::string_view kSource = "csaf";
// Branches nest as "branches": [{ "branches": [...] }]; each level is two JSON levels, so the
// reader's max_depth already bounds this. The cap keeps the recursion small if a caller raises
// max_depth a lot.
constexpr std::size_t kMaxBranchDepth = 512;

struct Product {
  std::string cpe;
  std::string purl;
};

struct Relationship {
  std::string category;
  std::string component;  ///< product_reference
  std::string platform;   ///< relates_to_product_reference
  std::string component_where;
  std::string platform_where;
};

struct StatusRef {
  std::string id;
  std::string where;
  bool fixed{false};
};

struct Vulnerability {
  std::string cve;
  std::string cve_where;
  std::string title;
  adv::Severity impact{adv::Severity::unknown};
  std::vector<StatusRef> refs;
};

struct Document {
  std::string tracking_id;
  std::string title;
  adv::Severity aggregate{adv::Severity::unknown};
  std::int64_t published{0};
  std::int64_t modified{0};
  bool seen{false};
  std::unordered_map<std::string, Product> products;
  std::unordered_map<std::string, Relationship> relationships;
  std::vector<std::string> relationship_order;  ///< ids in document order, for checking
  std::vector<Vulnerability> vulnerabilities;
};

std::int64_t read_time(JsonReader& r, std::string_view what) {
  const std::string_view text = r.string(what);
  std::int64_t seconds = 0;
  if (!parse_rfc3339(text, seconds)) {
    r.error(std::string(what) + " is not an RFC 3339 time: '" + std::string(text.substr(0, 64)) +
            "'");
  }
  return seconds;
}

void read_document(JsonReader& r, Document& d) {
  r.begin_object("document");
  d.seen = true;
  while (r.next_key()) {
    const std::string_view key = r.text();
    if (key == "title") {
      r.optional_string("document.title", d.title);
    } else if (key == "aggregate_severity") {
      r.begin_object("document.aggregate_severity");
      while (r.next_key()) {
        if (r.text() == "text") {
          d.aggregate = severity_word(r.string("aggregate_severity.text"));
        } else {
          r.skip();
        }
      }
    } else if (key == "tracking") {
      r.begin_object("document.tracking");
      while (r.next_key()) {
        const std::string_view field = r.text();
        if (field == "id") {
          d.tracking_id = r.string("tracking.id");
        } else if (field == "initial_release_date") {
          d.published = read_time(r, "tracking.initial_release_date");
        } else if (field == "current_release_date") {
          d.modified = read_time(r, "tracking.current_release_date");
        } else {
          r.skip();
        }
      }
    } else {
      r.skip();
    }
  }
}

/// A full_product_name or a branch's product: {name, product_id, product_identification_helper}.
void read_product(JsonReader& r, Document& d, std::string_view what) {
  r.begin_object(what);
  std::string id;
  Product product;
  while (r.next_key()) {
    const std::string_view key = r.text();
    if (key == "product_id") {
      id = r.string("product_id");
    } else if (key == "product_identification_helper") {
      r.begin_object("product_identification_helper");
      while (r.next_key()) {
        const std::string_view field = r.text();
        if (field == "cpe") {
          product.cpe = r.string("product_identification_helper.cpe");
        } else if (field == "purl") {
          product.purl = r.string("product_identification_helper.purl");
        } else {
          r.skip();
        }
      }
    } else {
      r.skip();
    }
  }
  if (id.empty()) r.error(std::string(what) + " has no product_id");
  d.products.try_emplace(std::move(id), std::move(product));
}

void read_branches(JsonReader& r, Document& d, std::size_t level) {
  if (level > kMaxBranchDepth) r.error("product_tree branches nested too deeply");
  r.begin_array("branches");
  while (r.next_element()) {
    r.begin_object("branches[]");
    while (r.next_key()) {
      const std::string_view key = r.text();
      if (key == "product") {
        read_product(r, d, "branches[].product");
      } else if (key == "branches") {
        read_branches(r, d, level + 1);
      } else {
        r.skip();
      }
    }
  }
}

void read_relationship(JsonReader& r, Document& d) {
  r.begin_object("relationships[]");
  Relationship rel;
  std::string id;
  std::string object_where = r.where();
  while (r.next_key()) {
    const std::string_view key = r.text();
    if (key == "category") {
      rel.category = r.string("relationships[].category");
    } else if (key == "product_reference") {
      rel.component = r.string("relationships[].product_reference");
      rel.component_where = r.where();
    } else if (key == "relates_to_product_reference") {
      rel.platform = r.string("relationships[].relates_to_product_reference");
      rel.platform_where = r.where();
    } else if (key == "full_product_name") {
      r.begin_object("relationships[].full_product_name");
      while (r.next_key()) {
        if (r.text() == "product_id") {
          id = r.string("full_product_name.product_id");
        } else {
          r.skip();
        }
      }
    } else {
      r.skip();
    }
  }
  if (id.empty() || rel.component.empty() || rel.platform.empty()) {
    fail(Errc::invalid_input,
         "a relationship needs full_product_name.product_id, product_reference and "
         "relates_to_product_reference",
         object_where);
  }
  if (d.relationships.try_emplace(id, std::move(rel)).second) {
    d.relationship_order.push_back(std::move(id));
  }
}

void read_product_tree(JsonReader& r, Document& d) {
  r.begin_object("product_tree");
  while (r.next_key()) {
    const std::string_view key = r.text();
    if (key == "branches") {
      read_branches(r, d, 0);
    } else if (key == "full_product_names") {
      r.begin_array("product_tree.full_product_names");
      while (r.next_element()) read_product(r, d, "full_product_names[]");
    } else if (key == "relationships") {
      r.begin_array("product_tree.relationships");
      while (r.next_element()) read_relationship(r, d);
    } else {
      r.skip();
    }
  }
}

void read_status_list(JsonReader& r, std::string_view what, bool fixed, Vulnerability& v) {
  r.begin_array(what);
  while (r.next_element()) {
    StatusRef ref;
    ref.id = r.string(what);
    ref.where = r.where();
    ref.fixed = fixed;
    v.refs.push_back(std::move(ref));
  }
}

void read_vulnerability(JsonReader& r, Document& d) {
  r.begin_object("vulnerabilities[]");
  Vulnerability v;
  while (r.next_key()) {
    const std::string_view key = r.text();
    if (key == "cve") {
      v.cve = r.string("vulnerabilities[].cve");
      v.cve_where = r.where();
    } else if (key == "title") {
      r.optional_string("vulnerabilities[].title", v.title);
    } else if (key == "product_status") {
      r.begin_object("vulnerabilities[].product_status");
      while (r.next_key()) {
        const std::string_view status = r.text();
        if (status == "fixed") {
          read_status_list(r, "product_status.fixed", true, v);
        } else if (status == "known_affected") {
          read_status_list(r, "product_status.known_affected", false, v);
        } else {
          r.skip();  // known_not_affected, under_investigation, first_fixed, …
        }
      }
    } else if (key == "threats") {
      r.begin_array("vulnerabilities[].threats");
      while (r.next_element()) {
        r.begin_object("threats[]");
        std::string category;
        std::string details;
        while (r.next_key()) {
          const std::string_view field = r.text();
          if (field == "category") {
            category = r.string("threats[].category");
          } else if (field == "details") {
            details = r.string("threats[].details");
          } else {
            r.skip();
          }
        }
        // Red Hat states the impact per CVE (and sometimes per product); the highest wins.
        if (category == "impact") v.impact = std::max(v.impact, severity_word(details));
      }
    } else {
      r.skip();
    }
  }
  d.vulnerabilities.push_back(std::move(v));
}

void read_csaf(JsonReader& r, Document& d) {
  r.begin_object("the CSAF document");
  while (r.next_key()) {
    const std::string_view key = r.text();
    if (key == "document") {
      read_document(r, d);
    } else if (key == "product_tree") {
      read_product_tree(r, d);
    } else if (key == "vulnerabilities") {
      r.begin_array("vulnerabilities");
      while (r.next_element()) read_vulnerability(r, d);
    } else {
      r.skip();
    }
  }
  r.finish();
}

// ---- resolution -----------------------------------------------------------------------------

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  for (;;) {
    const std::size_t at = text.find(sep);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

/// "cpe:/o:redhat:enterprise_linux:9::baseos", "cpe:/a:redhat:rhel_eus:8.6::appstream" or the
/// CPE 2.3 form → "Red Hat:<major>"; empty for products that are not RHEL.
std::string ecosystem_of_cpe(std::string_view cpe) {
  std::string_view rest;
  if (cpe.starts_with("cpe:/")) {
    rest = cpe.substr(5);
  } else if (cpe.starts_with("cpe:2.3:")) {
    rest = cpe.substr(8);
  } else {
    return {};
  }
  const auto parts = split(rest, ':');
  if (parts.size() < 4 || parts[1] != "redhat") return {};
  // RHEL itself and its update streams with a longer life (Extended Update Support, Advanced
  // Update Support, Update Services for SAP Solutions, Telco Update Service, Extended Life
  // Cycle Support). Layered products (OpenShift, Satellite, JBoss, Software Collections)
  // ship their own repositories and are out of scope.
  static constexpr std::string_view kRhel[] = {
      "enterprise_linux", "enterprise_linux_eus", "rhel_eus",  "rhel_eus_long_life",
      "rhel_aus",         "rhel_e4s",             "rhel_tus",  "rhel_els",
      "rhel_mission_critical"};
  if (std::find(std::begin(kRhel), std::end(kRhel), parts[2]) == std::end(kRhel)) return {};
  std::string_view version = parts[3];
  std::size_t digits = 0;
  while (digits < version.size() && version[digits] >= '0' && version[digits] <= '9') ++digits;
  if (digits == 0 || digits > 3) return {};
  return "Red Hat:" + std::string(version.substr(0, digits));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Percent-decoding as purl specifies; false on a broken escape.
bool percent_decode(std::string_view text, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return false;
    const int hi = hex_value(text[i + 1]);
    const int lo = hex_value(text[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

/// One rpm named by a component.
struct Rpm {
  std::string name;
  std::string evr;  ///< [epoch:]version-release, empty when the component names no version
  std::string arch;
  bool module{false};
};

enum class Parsed { ok, not_rpm, malformed };

/// pkg:rpm/redhat/openssl@3.0.7-18.el9_2?arch=x86_64&epoch=1 (rpmmod=… marks a module rpm).
Parsed parse_purl(std::string_view purl, Rpm& rpm) {
  if (!purl.starts_with("pkg:rpm/")) return Parsed::not_rpm;
  purl.remove_prefix(8);
  purl = purl.substr(0, purl.find('#'));
  std::string_view qualifiers;
  if (const std::size_t q = purl.find('?'); q != std::string_view::npos) {
    qualifiers = purl.substr(q + 1);
    purl = purl.substr(0, q);
  }
  std::string_view version;
  if (const std::size_t at = purl.rfind('@'); at != std::string_view::npos) {
    version = purl.substr(at + 1);
    purl = purl.substr(0, at);
  }
  const std::string_view name = purl.substr(purl.rfind('/') + 1);
  if (!percent_decode(name, rpm.name) || rpm.name.empty()) return Parsed::malformed;
  std::string epoch;
  if (!qualifiers.empty()) {
    for (const std::string_view pair : split(qualifiers, '&')) {
      const std::size_t eq = pair.find('=');
      const std::string_view key = pair.substr(0, eq);
      std::string value;
      if (eq != std::string_view::npos && !percent_decode(pair.substr(eq + 1), value)) {
        return Parsed::malformed;
      }
      if (key == "arch") {
        rpm.arch = value;
      } else if (key == "epoch") {
        epoch = value;
      } else if (key == "rpmmod") {
        rpm.module = true;
      }
    }
  }
  if (!version.empty()) {
    std::string decoded;
    if (!percent_decode(version, decoded)) return Parsed::malformed;
    if (!epoch.empty() && epoch != "0") rpm.evr = epoch + ":";
    rpm.evr += decoded;
  }
  return Parsed::ok;
}

bool known_arch(std::string_view arch) {
  static constexpr std::string_view kArches[] = {
      "x86_64", "i686", "i586", "i386", "aarch64", "ppc64le", "ppc64", "ppc",   "s390x",
      "s390",   "noarch", "src",  "ia64", "armv7hl", "x86_64_v2", "riscv64"};
  return std::find(std::begin(kArches), std::end(kArches), arch) != std::end(kArches);
}

/// A component's product id: "openssl-1:3.0.7-18.el9_2.x86_64" (name-[epoch:]version-release.arch)
/// or an unversioned component name ("rubygem-audited").
Parsed parse_product_id(std::string_view id, Rpm& rpm) {
  if (id.empty() || id.find(' ') != std::string_view::npos) return Parsed::malformed;
  // Module builds and module streams: "ruby:2.7:8080020230427102918:63b34585",
  // "go-toolset:rhel8/go-toolset", "…module+el8.8.0+18745+f1bef313.x86_64".
  if (id.find("::") != std::string_view::npos || id.find('/') != std::string_view::npos ||
      id.find(".module+") != std::string_view::npos ||
      id.find(".module_") != std::string_view::npos) {
    rpm.name = id;
    rpm.module = true;
    return Parsed::ok;
  }
  const std::size_t dot = id.rfind('.');
  if (dot == std::string_view::npos || !known_arch(id.substr(dot + 1))) {
    if (id.find(':') != std::string_view::npos) {
      rpm.name = id;
      rpm.module = true;  // name:stream
      return Parsed::ok;
    }
    rpm.name = id;  // an unversioned component
    return Parsed::ok;
  }
  rpm.arch = id.substr(dot + 1);
  const std::string_view nevr = id.substr(0, dot);
  const std::size_t release = nevr.rfind('-');
  if (release == std::string_view::npos || release == 0) return Parsed::malformed;
  const std::size_t version = nevr.rfind('-', release - 1);
  if (version == std::string_view::npos || version == 0) return Parsed::malformed;
  rpm.name = nevr.substr(0, version);
  std::string_view evr = nevr.substr(version + 1);
  if (evr.starts_with("0:")) evr.remove_prefix(2);
  rpm.evr = evr;
  return Parsed::ok;
}

struct Entry {
  adv::Affected affected;
  AffectedStatus status{AffectedStatus::fixed};
};

class Resolver {
 public:
  Resolver(const Document& d, ImportStats& stats) : d_(d), stats_(stats) {}

  /// Checks that every relationship refers to products the tree defines.
  void check_relationships() const {
    for (const std::string& id : d_.relationship_order) {
      const Relationship& rel = d_.relationships.at(id);
      if (!d_.products.contains(rel.component) && !d_.relationships.contains(rel.component)) {
        fail(Errc::invalid_input,
             "relationship '" + clip(id) + "' refers to product '" + clip(rel.component) +
                 "', which the product_tree does not define",
             rel.component_where);
      }
      if (!d_.products.contains(rel.platform)) {
        fail(Errc::invalid_input,
             "relationship '" + clip(id) + "' relates to product '" + clip(rel.platform) +
                 "', which the product_tree does not define",
             rel.platform_where);
      }
    }
  }

  void add(const StatusRef& ref, std::vector<Entry>& entries) {
    const auto rel = d_.relationships.find(ref.id);
    if (rel == d_.relationships.end()) {
      if (!d_.products.contains(ref.id)) {
        fail(Errc::invalid_input,
             "product '" + clip(ref.id) + "' is not defined in the product_tree", ref.where);
      }
      ++stats_.ignored;  // a product on its own: no platform to place a package in
      return;
    }
    const Relationship& r = rel->second;
    if (r.category != "default_component_of") {
      ++stats_.ignored;
      return;
    }
    const std::string ecosystem = ecosystem_of_cpe(d_.products.at(r.platform).cpe);
    if (ecosystem.empty()) {
      ++stats_.ignored;  // not RHEL (OpenShift, Satellite, …)
      return;
    }
    Rpm rpm;
    Parsed parsed = Parsed::not_rpm;
    if (const auto product = d_.products.find(r.component); product != d_.products.end()) {
      if (!product->second.purl.empty()) {
        parsed = parse_purl(product->second.purl, rpm);
        if (parsed == Parsed::malformed) {
          fail(Errc::invalid_input,
               "component '" + clip(r.component) + "' has a malformed purl '" +
                   clip(product->second.purl) + "'",
               ref.where);
        }
        if (parsed == Parsed::not_rpm) {
          ++stats_.ignored;  // a container image, a Maven artifact, …
          return;
        }
      }
    }
    if (parsed == Parsed::not_rpm && parse_product_id(r.component, rpm) != Parsed::ok) {
      ++stats_.ignored;
      return;
    }
    if (rpm.module || (rpm.arch == "src" && !rpm.evr.empty())) {
      ++stats_.ignored;  // module rpms need module-aware matching; source rpms repeat binaries
      return;
    }
    adv::PackageKind kind = adv::PackageKind::binary;
    if (rpm.evr.empty()) {
      // Red Hat names an unfixed component by its source package, without a version.
      if (ref.fixed) {
        ++stats_.ignored;  // a fix without a version says nothing usable
        return;
      }
      kind = adv::PackageKind::source;
    } else if (auto valid = versions::validate(versions::Scheme::rpm, rpm.evr); !valid) {
      fail(Errc::invalid_input,
           "component '" + clip(r.component) + "' has an invalid version: " +
               valid.error().message,
           ref.where);
    }
    merge(entries, ecosystem, rpm, kind, ref.fixed);
  }

 private:
  static std::string clip(std::string_view text) {
    return text.size() > 120 ? std::string(text.substr(0, 120)) + "..." : std::string(text);
  }

  static void merge(std::vector<Entry>& entries, const std::string& ecosystem, const Rpm& rpm,
                    adv::PackageKind kind, bool fixed) {
    const auto same = [&](const Entry& e) {
      return e.affected.ecosystem == ecosystem && e.affected.package == rpm.name &&
             e.affected.package_kind == kind;
    };
    auto it = std::find_if(entries.begin(), entries.end(), same);
    if (it == entries.end()) {
      Entry entry;
      entry.affected.ecosystem = ecosystem;
      entry.affected.package = rpm.name;
      entry.affected.package_kind = kind;
      entry.affected.events.push_back(adv::Event{adv::EventType::introduced, "0"});
      if (fixed) entry.affected.events.push_back(adv::Event{adv::EventType::fixed, rpm.evr});
      entry.status = fixed ? AffectedStatus::fixed : AffectedStatus::open;
      entries.push_back(std::move(entry));
      return;
    }
    if (it->status == AffectedStatus::open) return;  // no fix anywhere in the stream wins
    if (!fixed) {
      it->affected.events.resize(1);
      it->status = AffectedStatus::open;
      return;
    }
    // Several fixes for one package in one major release (main stream and EUS/AUS streams):
    // the highest is the one every host of that release is safe with.
    adv::Event& current = it->affected.events.back();
    const auto order = versions::compare(versions::Scheme::rpm, rpm.evr, current.version);
    if (order && *order > 0) current.version = rpm.evr;
  }

  const Document& d_;
  ImportStats& stats_;
};

adv::Kind kind_of(std::string_view id) {
  if (id.starts_with("RHBA-")) return adv::Kind::bugfix;
  if (id.starts_with("RHEA-")) return adv::Kind::enhancement;
  return adv::Kind::security;
}

void import_document(ByteSource& source, const std::string& name, const Limits& limits,
                     const AdvisorySink& sink, ImportStats& stats) {
  Document d;
  {
    JsonReader reader(source, name, limits);
    read_csaf(reader, d);
  }
  ++stats.files;
  stats.bytes += source.delivered();
  if (!d.seen) fail(Errc::invalid_input, "the CSAF document has no \"document\" object", name);
  Resolver resolver(d, stats);
  resolver.check_relationships();

  // The document is one record set: everything is resolved and checked before the first
  // advisory is delivered.
  std::vector<std::pair<adv::Advisory, RecordNotes>> records;
  std::vector<std::string> seen_cves;
  for (const Vulnerability& v : d.vulnerabilities) {
    if (v.cve.empty()) {
      ++stats.ignored;  // CSAF allows vulnerabilities known only by other ids
      continue;
    }
    if (!is_cve_id(v.cve)) {
      fail(Errc::invalid_input, "vulnerabilities[].cve is not a CVE id: '" +
                                    std::string(std::string_view(v.cve).substr(0, 64)) + "'",
           v.cve_where);
    }
    if (std::find(seen_cves.begin(), seen_cves.end(), v.cve) != seen_cves.end()) {
      fail(Errc::invalid_input, v.cve + " is listed twice in the document", v.cve_where);
    }
    seen_cves.push_back(v.cve);

    std::vector<Entry> entries;
    for (const StatusRef& ref : v.refs) resolver.add(ref, entries);

    adv::Advisory a;
    a.id = d.tracking_id.empty() || d.tracking_id == v.cve ? v.cve : d.tracking_id + "/" + v.cve;
    a.kind = kind_of(d.tracking_id);
    a.severity = v.impact != adv::Severity::unknown ? v.impact : d.aggregate;
    a.cves = {v.cve};
    a.summary = v.title.empty() ? d.title : v.title;
    a.published = d.published;
    a.modified = d.modified;
    a.source = kSource;
    RecordNotes notes;
    notes.origin = name;
    for (Entry& e : entries) {
      a.affected.push_back(std::move(e.affected));
      notes.affected_status.push_back(e.status);
    }
    records.emplace_back(std::move(a), std::move(notes));
  }
  Delivery delivery(limits, stats);
  for (auto& [advisory, notes] : records) {
    const std::string where = name + " (" + advisory.id + ")";
    delivery.advisory(sink, std::move(advisory), notes, where);
  }
}

}  // namespace
}  // namespace pf::feeds::detail

namespace pf::feeds {

Result<ImportStats> import_csaf(const std::filesystem::path& path, const ImportOptions& options,
                                const AdvisorySink& on_advisory) {
  return detail::guarded([&]() -> Result<ImportStats> {
    ImportStats stats;
    auto source = detail::open_document(path, options.limits.max_document_bytes);
    detail::import_document(*source, path.string(), options.limits, on_advisory, stats);
    return stats;
  });
}

Result<ImportStats> import_csaf_bytes(std::string_view data, std::string_view name,
                                      const ImportOptions& options,
                                      const AdvisorySink& on_advisory) {
  return detail::guarded([&]() -> Result<ImportStats> {
    ImportStats stats;
    auto source = detail::open_document(data, name, options.limits.max_document_bytes);
    detail::import_document(*source, std::string(name), options.limits, on_advisory, stats);
    return stats;
  });
}

}  // namespace pf::feeds
