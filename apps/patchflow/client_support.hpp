// SPDX-License-Identifier: Apache-2.0
// What the REST client commands share: reading fields of answers, printing tables, one request
// whose answer must be a 2xx JSON document. Private to apps/patchflow; included only by the
// command sources that work with JSON documents anyway.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api_client.hpp"
#include "command.hpp"

namespace pf::cli {

/// A field as text: strings as they are, null or absent as "", anything else as JSON.
[[nodiscard]] std::string str(const nlohmann::json& doc, const char* key);
/// {"k":"v",...} as "k=v,...".
[[nodiscard]] std::string labels_text(const nlohmann::json& labels);
/// Rows in columns two spaces apart (the first row is the header).
void print_table(const std::vector<std::vector<std::string>>& rows);

/// One request whose answer must be a JSON document with a 2xx status; otherwise the exit code
/// (the error already printed).
struct Call {
  nlohmann::json doc;
  int exit_code{kExitOk};
};
[[nodiscard]] Call call(ApiClient& client, const std::string& method, const std::string& path,
                        const std::string& body = {});

}  // namespace pf::cli
