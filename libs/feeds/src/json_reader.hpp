// SPDX-License-Identifier: Apache-2.0
// A pull parser for untrusted JSON: one token at a time from a ByteSource, with the line,
// column, byte offset and JSON path of every token, RFC 8259 grammar, strict UTF-8, and limits
// on string length and nesting depth checked while reading. Memory is one input buffer, the
// current string and the path. Private to the feeds component.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "input.hpp"

namespace pf::feeds::detail {

enum class Tok : std::uint8_t {
  begin_object,
  end_object,
  begin_array,
  end_array,
  key,
  string,
  number,
  boolean,
  null,
  end,  ///< after the top-level value, at the end of the input
};

[[nodiscard]] std::string_view tok_name(Tok tok) noexcept;

class JsonReader {
 public:
  /// `name` names the document in errors ("file.json", "all.zip!a/b.json").
  JsonReader(ByteSource& source, std::string name, const Limits& limits);

  /// The next token without consuming it.
  Tok peek();
  /// Consumes and returns the next token.
  Tok next();
  /// The unescaped text of the last key or string token (valid until the next token is read).
  [[nodiscard]] std::string_view text() const noexcept { return scratch_; }
  [[nodiscard]] double number() const noexcept { return number_; }
  [[nodiscard]] bool boolean() const noexcept { return boolean_; }

  /// Consumes '{' or fails "expected <what> to be an object".
  void begin_object(std::string_view what);
  /// Consumes the next key (true, key in text()) or the closing '}' (false).
  bool next_key();
  void begin_array(std::string_view what);
  /// True when another element follows (not consumed); consumes ']' and returns false.
  bool next_element();
  /// Consumes a string value.
  std::string_view string(std::string_view what);
  /// Consumes a string value, or null (returns false).
  bool optional_string(std::string_view what, std::string& out);
  double number(std::string_view what);
  /// Consumes one whole value of any type.
  void skip();
  /// Expects the end of the input after the top-level value.
  void finish();

  /// Fails at the last consumed token, naming the document, position and path.
  [[noreturn]] void error(std::string message) const;
  /// "expected <what> to be <wanted>, found <tok>" at the last consumed token.
  [[noreturn]] void type_error(std::string_view what, std::string_view wanted) const;
  [[nodiscard]] std::string where() const;
  [[nodiscard]] std::uint64_t offset() const noexcept { return base_ + pos_; }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] std::size_t depth() const noexcept { return frames_.size(); }

 private:
  struct Frame {
    bool array{false};
    std::uint64_t index{0};
    std::string key;
  };
  struct Position {
    std::uint64_t offset{0};
    std::uint64_t line{1};
    std::uint64_t column{1};
  };
  enum class Expect : std::uint8_t { value, first_value_or_end, first_key_or_end, key, after, done };

  Tok lex();
  int peek_byte();
  int get_byte();
  bool refill();
  void skip_space();
  void lex_string();
  void lex_utf8(unsigned char lead);
  unsigned read_hex4();
  void lex_number(int first);
  void lex_literal(std::string_view word);
  void push(bool array);
  void pop();
  void value_started();
  [[noreturn]] void fail_here(std::string message) const;
  [[noreturn]] void fail_at(const Position& at, std::string message, bool skip_top) const;
  [[nodiscard]] Position here() const noexcept;
  [[nodiscard]] std::string path(bool skip_top) const;

  ByteSource& source_;
  std::string name_;
  Limits limits_;
  std::vector<char> buffer_;
  std::size_t pos_{0};
  std::size_t end_{0};
  std::uint64_t base_{0};  ///< document offset of buffer_[0]
  bool eof_{false};
  std::uint64_t line_{1};
  std::uint64_t line_start_{0};

  Expect expect_{Expect::value};
  std::vector<Frame> frames_;
  std::string scratch_;
  std::string number_text_;
  double number_{0};
  bool boolean_{false};
  bool has_peeked_{false};
  Tok peeked_{Tok::end};
  Position peeked_at_;
  Tok current_{Tok::end};
  Position current_at_;
  bool started_{false};
};

/// Formats "<name>:<line>:<column> (byte <offset>)".
[[nodiscard]] std::string position_text(std::string_view name, std::uint64_t line,
                                        std::uint64_t column, std::uint64_t offset);

}  // namespace pf::feeds::detail
