// SPDX-License-Identifier: Apache-2.0
// docs/openapi.yaml read for tests: its operations, a structural lint, and a validator for the
// subset of JSON Schema the document uses (type, properties, required, items, enum, nullable,
// additionalProperties, $ref to #/..., minLength/maxLength, minimum/maximum, format date-time).
// Every problem is one line naming the operation, the JSON path and what was expected.
#pragma once

#include <filesystem>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "patchflow/common/error.hpp"

namespace pf::testing::openapi {

/// One operation of the document (a path and a method).
struct Operation {
  std::string method;  ///< upper case: "GET"
  std::string path;    ///< "/api/v1/hosts/{id}"
  std::string access;  ///< x-patchflow-access
  std::string summary;
  std::vector<int> statuses;  ///< the documented response statuses
};

class Document {
 public:
  /// Reads and parses a YAML file. Errors: io (unreadable), invalid_input (not YAML, or not an
  /// OpenAPI 3.0 document with paths).
  [[nodiscard]] static pf::Result<Document> load(const std::filesystem::path& file);
  /// The same from text; `name` is what errors call it.
  [[nodiscard]] static pf::Result<Document> parse(const std::string& yaml, std::string_view name);

  [[nodiscard]] const std::vector<Operation>& operations() const;
  [[nodiscard]] const Operation* find(std::string_view method, std::string_view path) const;

  /// Structural problems: $refs that do not resolve, schema keywords the validator does not
  /// know, operations without summary/access/responses, path parameters not declared (or
  /// declared and not in the path), error responses not using the Error schema, the security
  /// that does not fit the access, missing 401/403 on API operations, 400/413 on bodies,
  /// content declared for a 204 or 304.
  [[nodiscard]] std::vector<std::string> lint() const;

  /// Problems of one real answer: the status documented for the operation, the content type
  /// one of the response's media types, a JSON body valid against its schema; a 204 or 304
  /// answer has no body (its content type is not checked) and its response declares none.
  [[nodiscard]] std::vector<std::string> check_response(std::string_view method,
                                                        std::string_view path, int status,
                                                        std::string_view content_type,
                                                        std::string_view body) const;

  /// Problems of one request as sent: every query parameter declared (and its value fitting its
  /// schema), the body present when required, absent when the operation takes none, and valid.
  /// `query` is the part after '?', undecoded; `body` null for no body.
  [[nodiscard]] std::vector<std::string> check_request(std::string_view method,
                                                       std::string_view path,
                                                       std::string_view query,
                                                       const nlohmann::json& body) const;

  /// Problems of `value` against components/schemas/`name`; "$" is the value's path.
  [[nodiscard]] std::vector<std::string> check_schema(std::string_view name,
                                                      const nlohmann::json& value) const;

 private:
  struct Impl;
  explicit Document(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

}  // namespace pf::testing::openapi
