// SPDX-License-Identifier: Apache-2.0
#include "client_support.hpp"

#include <algorithm>
#include <iostream>

namespace pf::cli {

using nlohmann::json;

std::string str(const json& doc, const char* key) {
  if (!doc.is_object() || !doc.contains(key)) return "";
  const auto& v = doc[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

std::string labels_text(const json& labels) {
  std::string out;
  if (!labels.is_object()) return out;
  for (const auto& [k, v] : labels.items()) {
    if (!out.empty()) out += ",";
    out += k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
  }
  return out;
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& r : rows) {
    width.resize(std::max(width.size(), r.size()));
    for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

Call call(ApiClient& client, const std::string& method, const std::string& path,
          const std::string& body) {
  Call out;
  auto answer = client.request(method, path, body);
  if (!answer) {
    out.exit_code = report_client_error(answer.error());
    return out;
  }
  if (answer->status < 200 || answer->status >= 300) {
    out.exit_code = report_http_error(*answer);
    return out;
  }
  out.doc = json::parse(answer->body, nullptr, false);
  if (out.doc.is_discarded()) {
    std::cerr << "patchflow: error: the server's answer is not JSON\n";
    out.exit_code = kExitInternal;
  }
  return out;
}

}  // namespace pf::cli
