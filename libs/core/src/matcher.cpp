// SPDX-License-Identifier: Apache-2.0
#include "patchflow/core/matcher.hpp"

#include <algorithm>
#include <deque>
#include <numeric>
#include <unordered_map>
#include <utility>

#include "patchflow/common/error.hpp"
#include "patchflow/core/versions.hpp"

namespace pf::matcher {
namespace {

namespace a = pf::advisories;
namespace v = pf::versions;

constexpr std::uint32_t kNone = 0xffffffffU;

// Strings live in a deque, so views of them (parsed versions, map keys) never move.
class StringPool {
 public:
  std::uint32_t intern(std::string_view s) {
    if (auto it = ids_.find(s); it != ids_.end()) return it->second;
    const auto id = static_cast<std::uint32_t>(strings_.size());
    strings_.emplace_back(s);
    bytes_ += strings_.back().capacity() + sizeof(std::string) + 48;
    ids_.emplace(strings_.back(), id);
    return id;
  }
  [[nodiscard]] std::uint32_t find(std::string_view s) const {
    auto it = ids_.find(s);
    return it == ids_.end() ? kNone : it->second;
  }
  [[nodiscard]] std::string_view get(std::uint32_t id) const { return strings_[id]; }
  [[nodiscard]] std::size_t memory_bytes() const noexcept { return bytes_; }

 private:
  std::deque<std::string> strings_;
  std::unordered_map<std::string_view, std::uint32_t> ids_;
  std::size_t bytes_{0};
};

// Host lists and package lists are ascending, stored as LEB128 deltas: clones of one image
// have neighbouring package ids and interleaved host ids, so most deltas take one byte.
void put_varint(std::vector<std::uint8_t>& out, std::uint32_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(value));
}

std::uint32_t get_varint(const std::uint8_t*& p) {
  std::uint32_t value = 0;
  int shift = 0;
  for (;;) {
    const std::uint8_t byte = *p++;
    value |= static_cast<std::uint32_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return value;
    shift += 7;
  }
}

template <class F>
void for_each_delta(const std::uint8_t* p, std::uint32_t count, F&& f) {
  std::uint32_t current = 0;
  for (std::uint32_t i = 0; i < count; ++i) {
    current += get_varint(p);
    f(current);
  }
}

std::uint64_t mix(std::uint64_t h, std::uint64_t x) noexcept {
  h ^= x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h;
}

struct RowKey {
  std::uint32_t eco, name, arch, version, source_name, source_version;
  bool operator==(const RowKey&) const = default;
};
struct RowKeyHash {
  std::size_t operator()(const RowKey& k) const noexcept {
    std::uint64_t h = 0;
    for (std::uint32_t x : {k.eco, k.name, k.arch, k.version, k.source_name, k.source_version}) {
      h = mix(h, x);
    }
    return static_cast<std::size_t>(h);
  }
};

// (ecosystem, kind, name): what an affected entry names.
struct NameKey {
  std::uint32_t eco, name;
  a::PackageKind kind;
  bool operator==(const NameKey&) const = default;
};
struct NameKeyHash {
  std::size_t operator()(const NameKey& k) const noexcept {
    return static_cast<std::size_t>(
        mix(mix(k.eco, k.name), static_cast<std::uint64_t>(k.kind)));
  }
};

// (ecosystem, kind, name, version): the unit of evaluation.
struct TupleKey {
  NameKey name;
  std::uint32_t version;
  bool operator==(const TupleKey&) const = default;
};
struct TupleKeyHash {
  std::size_t operator()(const TupleKey& k) const noexcept {
    return static_cast<std::size_t>(mix(NameKeyHash{}(k.name), k.version));
  }
};

// A version parsed in its scheme; views into the pool or into an advisory.
struct Parsed {
  v::DebVersion deb;
  v::RpmEvr rpm;
};

bool parse(v::Scheme scheme, std::string_view text, Parsed& out) {
  if (scheme == v::Scheme::deb) {
    auto r = v::parse_deb(text);
    if (!r) return false;
    out.deb = *r;
  } else {
    auto r = v::parse_rpm_evr(text);
    if (!r) return false;
    out.rpm = *r;
  }
  return true;
}

int compare(v::Scheme scheme, const Parsed& x, const Parsed& y) noexcept {
  return scheme == v::Scheme::deb ? v::compare(x.deb, y.deb) : v::compare(x.rpm, y.rpm);
}

}  // namespace

struct FleetIndex::Impl {
  struct PackageRow {
    RowKey key;
    std::uint32_t host_count{0};
    std::uint32_t last_host{0};
    std::vector<std::uint8_t> hosts;  // ascending host ids, delta-encoded
  };
  struct Tuple {
    std::uint32_t version{0};
    bool valid{false};
    v::Scheme scheme{v::Scheme::deb};
    Parsed parsed;
    std::vector<PackageId> packages;
  };
  struct Host {
    std::uint32_t name{0};
    std::uint32_t eco{0};
    std::uint32_t package_count{0};
    std::uint64_t begin{0};  // into host_bytes
  };

  StringPool pool;
  std::vector<PackageRow> packages;
  std::unordered_map<RowKey, PackageId, RowKeyHash> package_ids;
  std::vector<Tuple> tuples;
  std::unordered_map<TupleKey, std::uint32_t, TupleKeyHash> tuple_ids;
  std::unordered_map<NameKey, std::vector<std::uint32_t>, NameKeyHash> by_name;
  std::unordered_map<std::uint32_t, std::optional<v::Scheme>> schemes;  // by ecosystem id
  std::vector<Host> hosts;
  std::vector<std::uint8_t> host_bytes;

  std::optional<v::Scheme> scheme_of(std::uint32_t eco) {
    auto it = schemes.find(eco);
    if (it != schemes.end()) return it->second;
    auto s = a::scheme_for_ecosystem(pool.get(eco));
    std::optional<v::Scheme> value = s ? std::optional<v::Scheme>(*s) : std::nullopt;
    schemes.emplace(eco, value);
    return value;
  }

  std::uint32_t tuple_for(std::uint32_t eco, a::PackageKind kind, std::uint32_t name,
                          std::uint32_t version) {
    const TupleKey key{{eco, name, kind}, version};
    if (auto it = tuple_ids.find(key); it != tuple_ids.end()) return it->second;
    const auto id = static_cast<std::uint32_t>(tuples.size());
    Tuple t;
    t.version = version;
    if (auto scheme = scheme_of(eco)) {
      t.scheme = *scheme;
      t.valid = parse(*scheme, pool.get(version), t.parsed);
    }
    tuples.push_back(std::move(t));
    tuple_ids.emplace(key, id);
    by_name[key.name].push_back(id);
    return id;
  }

  PackageId intern(std::string_view ecosystem, const inventory::Package& p) {
    RowKey key{};
    key.eco = pool.intern(ecosystem);
    key.name = pool.intern(p.name);
    key.arch = pool.intern(p.arch);
    key.version = pool.intern(p.version);
    // dpkg omits Source when it equals the binary; an inventory may leave the fields empty.
    key.source_name = p.source_name.empty() || p.source_name == p.name
                          ? key.name
                          : pool.intern(p.source_name);
    key.source_version = p.source_version.empty() || p.source_version == p.version
                             ? key.version
                             : pool.intern(p.source_version);
    if (auto it = package_ids.find(key); it != package_ids.end()) return it->second;
    const auto id = static_cast<PackageId>(packages.size());
    PF_ASSERT(id != kNone);
    packages.push_back(PackageRow{key, 0, 0, {}});
    package_ids.emplace(key, id);
    tuples[tuple_for(key.eco, a::PackageKind::binary, key.name, key.version)].packages.push_back(
        id);
    tuples[tuple_for(key.eco, a::PackageKind::source, key.source_name, key.source_version)]
        .packages.push_back(id);
    return id;
  }

  HostId add(std::string_view name, std::uint32_t eco, std::vector<PackageId>& ids) {
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    const auto host = static_cast<HostId>(hosts.size());
    PF_ASSERT(host != kNone);
    Host h;
    h.name = pool.intern(name);
    h.eco = eco;
    h.package_count = static_cast<std::uint32_t>(ids.size());
    h.begin = host_bytes.size();
    std::uint32_t previous = 0;
    for (PackageId id : ids) {
      PF_ASSERT(id < packages.size());
      PackageRow& row = packages[id];
      PF_ASSERT(row.key.eco == eco);
      put_varint(host_bytes, id - previous);
      previous = id;
      put_varint(row.hosts, host - row.last_host);
      row.last_host = host;
      ++row.host_count;
    }
    hosts.push_back(h);
    return host;
  }

  std::vector<PackageId> packages_of(HostId host) const {
    PF_ASSERT(host < hosts.size());
    const Host& h = hosts[host];
    std::vector<PackageId> out;
    out.reserve(h.package_count);
    for_each_delta(host_bytes.data() + h.begin, h.package_count,
                   [&](std::uint32_t id) { out.push_back(id); });
    return out;
  }
};

FleetIndex::FleetIndex() : impl_(std::make_unique<Impl>()) {}
FleetIndex::~FleetIndex() = default;
FleetIndex::FleetIndex(FleetIndex&&) noexcept = default;
FleetIndex& FleetIndex::operator=(FleetIndex&&) noexcept = default;

HostId FleetIndex::add_host(const inventory::Inventory& inventory) {
  const std::uint32_t eco = impl_->pool.intern(inventory.ecosystem);
  std::vector<PackageId> ids;
  ids.reserve(inventory.packages.size());
  for (const auto& p : inventory.packages) ids.push_back(impl_->intern(inventory.ecosystem, p));
  return impl_->add(inventory.host, eco, ids);
}

PackageId FleetIndex::intern_package(std::string_view ecosystem,
                                     const inventory::Package& package) {
  return impl_->intern(ecosystem, package);
}

HostId FleetIndex::add_host(std::string_view host, std::string_view ecosystem,
                            std::span<const PackageId> packages) {
  const std::uint32_t eco = impl_->pool.intern(ecosystem);
  std::vector<PackageId> ids(packages.begin(), packages.end());
  return impl_->add(host, eco, ids);
}

std::size_t FleetIndex::host_count() const noexcept { return impl_->hosts.size(); }
std::size_t FleetIndex::package_count() const noexcept { return impl_->packages.size(); }
std::size_t FleetIndex::tuple_count() const noexcept { return impl_->tuples.size(); }

std::string_view FleetIndex::host_name(HostId host) const {
  PF_ASSERT(host < impl_->hosts.size());
  return impl_->pool.get(impl_->hosts[host].name);
}

std::string_view FleetIndex::host_ecosystem(HostId host) const {
  PF_ASSERT(host < impl_->hosts.size());
  return impl_->pool.get(impl_->hosts[host].eco);
}

PackageView FleetIndex::package(PackageId package) const {
  PF_ASSERT(package < impl_->packages.size());
  const RowKey& k = impl_->packages[package].key;
  const StringPool& s = impl_->pool;
  return {s.get(k.eco),     s.get(k.name),        s.get(k.arch),
          s.get(k.version), s.get(k.source_name), s.get(k.source_version)};
}

std::uint32_t FleetIndex::host_count_of(PackageId package) const {
  PF_ASSERT(package < impl_->packages.size());
  return impl_->packages[package].host_count;
}

std::vector<PackageId> FleetIndex::packages_of(HostId host) const {
  return impl_->packages_of(host);
}

std::vector<HostId> FleetIndex::hosts_with(PackageId package) const {
  PF_ASSERT(package < impl_->packages.size());
  const auto& row = impl_->packages[package];
  std::vector<HostId> out;
  out.reserve(row.host_count);
  for_each_delta(row.hosts.data(), row.host_count, [&](std::uint32_t h) { out.push_back(h); });
  return out;
}

std::size_t FleetIndex::memory_bytes() const noexcept {
  const Impl& x = *impl_;
  std::size_t n = x.pool.memory_bytes();
  n += x.packages.capacity() * sizeof(Impl::PackageRow);
  for (const auto& row : x.packages) n += row.hosts.capacity();
  n += x.package_ids.size() * (sizeof(RowKey) + sizeof(PackageId) + 16) +
       x.package_ids.bucket_count() * sizeof(void*);
  n += x.tuples.capacity() * sizeof(Impl::Tuple);
  for (const auto& t : x.tuples) n += t.packages.capacity() * sizeof(PackageId);
  n += x.tuple_ids.size() * (sizeof(TupleKey) + 4 + 16) + x.tuple_ids.bucket_count() * 8;
  n += x.by_name.size() * (sizeof(NameKey) + 24 + 16) + x.by_name.bucket_count() * 8;
  for (const auto& [k, ids] : x.by_name) n += ids.capacity() * 4;
  n += x.hosts.capacity() * sizeof(Impl::Host) + x.host_bytes.capacity();
  return n;
}

namespace {

// One range of an affected entry, its bounds parsed.
struct Range {
  bool from_start{false};  // introduced "0"
  Parsed lo;
  std::int32_t close{-1};  // event index; -1 = open
  bool inclusive{false};   // last_affected
  Parsed hi;
};

// Reads the events in order: introduced opens (a second introduced while open is ignored),
// fixed / last_affected closes (a close with nothing open is ignored), an open range at the end
// has no fix. False when a version does not parse.
bool build_ranges(v::Scheme scheme, const a::Affected& entry, std::vector<Range>& out) {
  out.clear();
  bool open = false;
  Range current;
  for (std::size_t i = 0; i < entry.events.size(); ++i) {
    const a::Event& e = entry.events[i];
    if (e.type == a::EventType::introduced) {
      if (e.version == "0") {
        if (!open) current = Range{.from_start = true};
      } else {
        Parsed p;
        if (!parse(scheme, e.version, p)) return false;
        if (!open) current = Range{.from_start = false, .lo = p};
      }
      open = true;
      continue;
    }
    Parsed p;
    if (!parse(scheme, e.version, p)) return false;
    if (!open) continue;
    current.close = static_cast<std::int32_t>(i);
    current.inclusive = e.type == a::EventType::last_affected;
    current.hi = p;
    out.push_back(current);
    open = false;
  }
  if (open) out.push_back(current);
  return true;
}

// The index of the range containing `version`, or -1.
int containing_range(v::Scheme scheme, const std::vector<Range>& ranges, const Parsed& version) {
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    const Range& r = ranges[i];
    if (!r.from_start && compare(scheme, version, r.lo) < 0) continue;
    if (r.close >= 0) {
      const int c = compare(scheme, version, r.hi);
      if (r.inclusive ? c > 0 : c >= 0) continue;
    }
    return static_cast<int>(i);
  }
  return -1;
}

bool package_less(const FleetIndex::Impl& ix, PackageId x, PackageId y) {
  if (x == y) return false;
  const RowKey& kx = ix.packages[x].key;
  const RowKey& ky = ix.packages[y].key;
  const StringPool& s = ix.pool;
  for (auto field : {&RowKey::name, &RowKey::arch, &RowKey::version, &RowKey::source_name,
                     &RowKey::source_version, &RowKey::eco}) {
    const std::uint32_t ax = kx.*field;
    const std::uint32_t ay = ky.*field;
    if (ax == ay) continue;
    if (int c = s.get(ax).compare(s.get(ay)); c != 0) return c < 0;
  }
  return x < y;
}

void evaluate_one(const FleetIndex::Impl& ix, std::span<const a::Advisory> advisories,
                  std::uint32_t index, std::vector<Range>& ranges, std::vector<Hit>& scratch,
                  MatchResult& result) {
  const a::Advisory& adv = advisories[index];
  Statistics& st = result.stats;
  ++st.advisories;
  scratch.clear();
  for (std::size_t k = 0; k < adv.affected.size(); ++k) {
    const a::Affected& entry = adv.affected[k];
    ++st.affected_entries;
    const auto scheme = a::scheme_for_ecosystem(entry.ecosystem);
    if (!scheme) {
      ++st.entries_unknown_ecosystem;
      continue;
    }
    const std::uint32_t eco = ix.pool.find(entry.ecosystem);
    const std::uint32_t name = eco == kNone ? kNone : ix.pool.find(entry.package);
    const auto it =
        name == kNone ? ix.by_name.end() : ix.by_name.find(NameKey{eco, name, entry.package_kind});
    if (it == ix.by_name.end()) {
      ++st.entries_not_installed;
      continue;
    }
    if (!build_ranges(*scheme, entry, ranges)) {
      ++st.skipped_invalid_feed_versions;
      continue;
    }
    for (std::uint32_t t : it->second) {
      const FleetIndex::Impl::Tuple& tuple = ix.tuples[t];
      ++st.evaluations;
      if (!tuple.valid) {
        ++st.skipped_invalid_installed_versions;
        continue;
      }
      const int r = containing_range(*scheme, ranges, tuple.parsed);
      if (r < 0) continue;
      for (PackageId p : tuple.packages) {
        scratch.push_back(Hit{index, static_cast<std::uint32_t>(k), p, ranges[r].close});
      }
    }
  }
  // std::sort with full keys rather than std::stable_sort: same order, and no temporary
  // buffer from nothrow operator new (which a test binary that replaces operator new misses).
  std::sort(scratch.begin(), scratch.end(), [&](const Hit& x, const Hit& y) {
    if (x.package != y.package) return package_less(ix, x.package, y.package);
    return x.affected < y.affected;
  });
  scratch.erase(std::unique(scratch.begin(), scratch.end(),
                            [](const Hit& x, const Hit& y) { return x.package == y.package; }),
                scratch.end());
  for (const Hit& h : scratch) {
    result.hits.push_back(h);
    ++st.hits;
    st.findings += ix.packages[h.package].host_count;
  }
}

}  // namespace

MatchResult evaluate(const FleetIndex& fleet, std::span<const a::Advisory> advisories) {
  PF_ASSERT(advisories.size() < kNone);
  std::vector<std::uint32_t> order(advisories.size());
  std::iota(order.begin(), order.end(), 0U);
  std::sort(order.begin(), order.end(), [&](std::uint32_t x, std::uint32_t y) {
    if (int c = advisories[x].id.compare(advisories[y].id); c != 0) return c < 0;
    return x < y;
  });
  MatchResult result;
  std::vector<Range> ranges;
  std::vector<Hit> scratch;
  for (std::uint32_t i : order) evaluate_one(fleet.impl(), advisories, i, ranges, scratch, result);
  return result;
}

MatchResult evaluate_advisory(const FleetIndex& fleet, const a::Advisory& advisory) {
  return evaluate(fleet, std::span<const a::Advisory>(&advisory, 1));
}

Finding describe(const FleetIndex& fleet, std::span<const a::Advisory> advisories,
                 const Hit& hit, HostId host) {
  PF_ASSERT(hit.advisory < advisories.size());
  const a::Advisory& adv = advisories[hit.advisory];
  PF_ASSERT(hit.affected < adv.affected.size());
  const a::Affected& entry = adv.affected[hit.affected];
  const PackageView p = fleet.package(hit.package);
  Finding f;
  f.host_index = host;
  f.host = fleet.host_name(host);
  f.advisory_id = adv.id;
  f.cves = adv.cves;
  f.package = p.name;
  f.arch = p.arch;
  f.source_package = p.source_name;
  f.installed_version = p.version;
  if (hit.closing_event >= 0) {
    PF_ASSERT(static_cast<std::size_t>(hit.closing_event) < entry.events.size());
    const a::Event& e = entry.events[static_cast<std::size_t>(hit.closing_event)];
    if (e.type == a::EventType::fixed) {
      f.fixed_version = e.version;
    } else {
      f.last_affected = e.version;
    }
  }
  f.advisory_severity = adv.severity;
  f.severity = entry.severity != a::Severity::unknown ? entry.severity : adv.severity;
  return f;
}

std::vector<Finding> findings(const FleetIndex& fleet, std::span<const a::Advisory> advisories,
                              const MatchResult& result) {
  const FleetIndex::Impl& ix = fleet.impl();
  std::vector<std::pair<HostId, std::uint32_t>> pairs;  // (host, hit index)
  for (std::size_t i = 0; i < result.hits.size(); ++i) {
    const auto& row = ix.packages[result.hits[i].package];
    for_each_delta(row.hosts.data(), row.host_count, [&](std::uint32_t h) {
      pairs.emplace_back(h, static_cast<std::uint32_t>(i));
    });
  }
  std::sort(pairs.begin(), pairs.end());
  std::vector<Finding> out;
  out.reserve(pairs.size());
  for (const auto& [host, i] : pairs) out.push_back(describe(fleet, advisories, result.hits[i], host));
  return out;
}

std::vector<Finding> findings_for_host(const FleetIndex& fleet,
                                       std::span<const a::Advisory> advisories,
                                       const MatchResult& result, HostId host) {
  const std::vector<PackageId> mine = fleet.packages_of(host);
  std::vector<Finding> out;
  for (const Hit& hit : result.hits) {
    if (std::binary_search(mine.begin(), mine.end(), hit.package)) {
      out.push_back(describe(fleet, advisories, hit, host));
    }
  }
  return out;
}

std::vector<HostRollup> roll_up(const FleetIndex& fleet, const MatchResult& result,
                                std::span<const double> hit_values) {
  PF_ASSERT(hit_values.empty() || hit_values.size() == result.hits.size());
  const FleetIndex::Impl& ix = fleet.impl();
  std::vector<HostRollup> out(ix.hosts.size());
  for (std::size_t i = 0; i < result.hits.size(); ++i) {
    const auto& row = ix.packages[result.hits[i].package];
    const double value = hit_values.empty() ? 0.0 : hit_values[i];
    const auto hit = static_cast<std::uint32_t>(i);
    for_each_delta(row.hosts.data(), row.host_count, [&](std::uint32_t h) {
      HostRollup& r = out[h];
      ++r.findings;
      if (r.top_hit == kNone || value > r.top) {
        r.top = value;
        r.top_hit = hit;
      }
    });
  }
  return out;
}

std::string fixed_version_text(const Finding& finding) {
  if (finding.fixed_version) return std::string(*finding.fixed_version);
  if (finding.last_affected) return "after " + std::string(*finding.last_affected);
  return "no fix yet";
}

}  // namespace pf::matcher
