// SPDX-License-Identifier: Apache-2.0
#include "json_reader.hpp"

#include <charconv>
#include <cstdio>

namespace pf::feeds::detail {
namespace {

constexpr std::size_t kBufferSize = 64 * 1024;
constexpr std::size_t kMaxNumberChars = 128;

std::string byte_text(int c) {
  if (c < 0) return "end of input";
  if (c >= 0x21 && c < 0x7f) return std::string("'") + static_cast<char>(c) + "'";
  char hex[16];
  std::snprintf(hex, sizeof hex, "0x%02x", c);
  return std::string("byte ") + hex;
}

}  // namespace

std::string_view tok_name(Tok tok) noexcept {
  switch (tok) {
    case Tok::begin_object: return "an object";
    case Tok::end_object: return "'}'";
    case Tok::begin_array: return "an array";
    case Tok::end_array: return "']'";
    case Tok::key: return "a key";
    case Tok::string: return "a string";
    case Tok::number: return "a number";
    case Tok::boolean: return "a boolean";
    case Tok::null: return "null";
    case Tok::end: return "the end of input";
  }
  return "a token";
}

std::string position_text(std::string_view name, std::uint64_t line, std::uint64_t column,
                          std::uint64_t offset) {
  std::string out(name);
  out += ':';
  out += std::to_string(line);
  out += ':';
  out += std::to_string(column);
  out += " (byte ";
  out += std::to_string(offset);
  out += ')';
  return out;
}

JsonReader::JsonReader(ByteSource& source, std::string name, const Limits& limits)
    : source_(source), name_(std::move(name)), limits_(limits), buffer_(kBufferSize) {}

bool JsonReader::refill() {
  if (eof_) return false;
  base_ += end_;
  pos_ = 0;
  end_ = source_.read(buffer_.data(), buffer_.size());
  if (end_ == 0) {
    eof_ = true;
    return false;
  }
  return true;
}

int JsonReader::peek_byte() {
  if (pos_ == end_ && !refill()) return -1;
  return static_cast<unsigned char>(buffer_[pos_]);
}

int JsonReader::get_byte() {
  if (pos_ == end_ && !refill()) return -1;
  return static_cast<unsigned char>(buffer_[pos_++]);
}

JsonReader::Position JsonReader::here() const noexcept {
  const std::uint64_t off = base_ + pos_;
  return Position{off, line_, off - line_start_ + 1};
}

void JsonReader::skip_space() {
  for (;;) {
    while (pos_ < end_) {
      const char c = buffer_[pos_];
      if (c == ' ' || c == '\t' || c == '\r') {
        ++pos_;
      } else if (c == '\n') {
        ++pos_;
        ++line_;
        line_start_ = base_ + pos_;
      } else {
        return;
      }
    }
    if (!refill()) return;
  }
}

std::string JsonReader::path(bool skip_top) const {
  std::string out = "$";
  std::size_t n = frames_.size();
  if (skip_top && n > 0) --n;
  for (std::size_t i = 0; i < n; ++i) {
    if (out.size() > 160) {  // deep nesting: the start of the path says enough
      out += "...";
      break;
    }
    const Frame& f = frames_[i];
    if (f.array) {
      if (f.index == 0) continue;  // no element started yet
      out += '[';
      out += std::to_string(f.index - 1);
      out += ']';
    } else if (!f.key.empty()) {
      out += '.';
      if (f.key.size() > 64) {
        out.append(f.key, 0, 64);
        out += "...";
      } else {
        out += f.key;
      }
    }
  }
  return out;
}

void JsonReader::fail_at(const Position& at, std::string message, bool skip_top) const {
  fail(Errc::invalid_input, std::move(message),
       position_text(name_, at.line, at.column, at.offset) + " at " + path(skip_top));
}

void JsonReader::fail_here(std::string message) const { fail_at(here(), std::move(message), false); }

std::string JsonReader::where() const {
  return position_text(name_, current_at_.line, current_at_.column, current_at_.offset) + " at " +
         path((current_ == Tok::begin_object || current_ == Tok::begin_array) && !has_peeked_);
}

void JsonReader::error(std::string message) const {
  fail(Errc::invalid_input, std::move(message), where());
}

void JsonReader::type_error(std::string_view what, std::string_view wanted) const {
  error("expected " + std::string(what) + " to be " + std::string(wanted) + ", found " +
        std::string(tok_name(current_)));
}

void JsonReader::push(bool array) {
  if (frames_.size() >= limits_.max_depth) {
    fail_at(peeked_at_,
            "JSON nested deeper than the limit of " + std::to_string(limits_.max_depth) + " levels",
            false);
  }
  frames_.push_back(Frame{array, 0, {}});
  expect_ = array ? Expect::first_value_or_end : Expect::first_key_or_end;
}

void JsonReader::pop() {
  frames_.pop_back();
  expect_ = frames_.empty() ? Expect::done : Expect::after;
}

void JsonReader::value_started() {
  if (!frames_.empty() && frames_.back().array) ++frames_.back().index;
}

Tok JsonReader::peek() {
  if (!has_peeked_) {
    peeked_ = lex();
    has_peeked_ = true;
  }
  return peeked_;
}

Tok JsonReader::next() {
  if (has_peeked_) {
    has_peeked_ = false;
    current_ = peeked_;
    current_at_ = peeked_at_;
    return current_;
  }
  current_ = lex();
  current_at_ = peeked_at_;
  return current_;
}

Tok JsonReader::lex() {
  if (!started_) {
    started_ = true;
    // A UTF-8 byte order mark is allowed and ignored; UTF-16/32 are not JSON for us.
    const int c = peek_byte();
    if (c == 0xEF) {
      get_byte();
      if (get_byte() != 0xBB || get_byte() != 0xBF) {
        fail_here("invalid UTF-8 at the start of the document (a broken byte order mark)");
      }
      line_start_ = 3;
    } else if (c == 0xFE || c == 0xFF || c == 0) {
      fail_here("not UTF-8 JSON (a UTF-16 or UTF-32 byte order mark or a NUL byte)");
    } else if (c < 0) {
      fail_here("empty document");
    }
  }
  for (;;) {
    skip_space();
    peeked_at_ = here();
    const int c = peek_byte();
    switch (expect_) {
      case Expect::done:
        if (c < 0) return Tok::end;
        fail_here("unexpected " + byte_text(c) + " after the end of the JSON document");
      case Expect::after: {
        const bool array = frames_.back().array;
        if (c == ',') {
          ++pos_;
          expect_ = array ? Expect::value : Expect::key;
          continue;
        }
        if (c == (array ? ']' : '}')) {
          ++pos_;
          pop();
          return array ? Tok::end_array : Tok::end_object;
        }
        if (c < 0) fail_here("unexpected end of input: the document is truncated");
        fail_here(std::string("expected ',' or '") + (array ? ']' : '}') + "', found " +
                  byte_text(c));
      }
      case Expect::first_key_or_end:
      case Expect::key:
        if (c == '}' && expect_ == Expect::first_key_or_end) {
          ++pos_;
          pop();
          return Tok::end_object;
        }
        if (c != '"') {
          if (c < 0) fail_here("unexpected end of input: the document is truncated");
          fail_here("expected a string key, found " + byte_text(c));
        }
        ++pos_;
        lex_string();
        frames_.back().key = scratch_;
        skip_space();
        if (const int colon = get_byte(); colon != ':') {
          if (colon < 0) fail_here("unexpected end of input: the document is truncated");
          --pos_;
          fail_here("expected ':' after a key, found " + byte_text(colon));
        }
        expect_ = Expect::value;
        return Tok::key;
      case Expect::first_value_or_end:
        if (c == ']') {
          ++pos_;
          pop();
          return Tok::end_array;
        }
        [[fallthrough]];
      case Expect::value:
        value_started();
        switch (c) {
          case '{':
            ++pos_;
            push(false);
            return Tok::begin_object;
          case '[':
            ++pos_;
            push(true);
            return Tok::begin_array;
          case '"':
            ++pos_;
            lex_string();
            expect_ = frames_.empty() ? Expect::done : Expect::after;
            return Tok::string;
          case 't':
            lex_literal("true");
            boolean_ = true;
            expect_ = frames_.empty() ? Expect::done : Expect::after;
            return Tok::boolean;
          case 'f':
            lex_literal("false");
            boolean_ = false;
            expect_ = frames_.empty() ? Expect::done : Expect::after;
            return Tok::boolean;
          case 'n':
            lex_literal("null");
            expect_ = frames_.empty() ? Expect::done : Expect::after;
            return Tok::null;
          default:
            if (c == '-' || (c >= '0' && c <= '9')) {
              lex_number(c);
              expect_ = frames_.empty() ? Expect::done : Expect::after;
              return Tok::number;
            }
            if (c < 0) fail_here("unexpected end of input: the document is truncated");
            fail_here("expected a JSON value, found " + byte_text(c));
        }
    }
  }
}

void JsonReader::lex_literal(std::string_view word) {
  for (const char w : word) {
    const int c = get_byte();
    if (c != static_cast<unsigned char>(w)) {
      if (c >= 0) --pos_;
      fail_here(c < 0 ? "unexpected end of input: the document is truncated"
                      : "invalid literal (expected '" + std::string(word) + "')");
    }
  }
}

void JsonReader::lex_number(int first) {
  number_text_.clear();
  auto take = [&] {
    if (number_text_.size() >= kMaxNumberChars) fail_here("number longer than 128 characters");
    number_text_.push_back(static_cast<char>(get_byte()));
  };
  auto digit = [&] {
    const int c = peek_byte();
    return c >= '0' && c <= '9';
  };
  auto digits = [&] {
    if (!digit()) fail_here("invalid number: a digit is missing");
    while (digit()) take();
  };
  if (first == '-') take();
  if (peek_byte() == '0') {
    take();
  } else {
    digits();
  }
  if (peek_byte() == '.') {
    take();
    digits();
  }
  if (const int e = peek_byte(); e == 'e' || e == 'E') {
    take();
    if (const int s = peek_byte(); s == '+' || s == '-') take();
    digits();
  }
  const char* begin = number_text_.data();
  const char* stop = begin + number_text_.size();
  const auto [ptr, ec] = std::from_chars(begin, stop, number_);
  if (ec != std::errc() || ptr != stop) {
    fail_at(peeked_at_, "number out of range: " + number_text_, false);
  }
}

unsigned JsonReader::read_hex4() {
  unsigned value = 0;
  for (int i = 0; i < 4; ++i) {
    const int c = get_byte();
    unsigned d;
    if (c >= '0' && c <= '9') {
      d = static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<unsigned>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      d = static_cast<unsigned>(c - 'A' + 10);
    } else {
      fail_here(c < 0 ? "unexpected end of input inside a \\u escape"
                      : "invalid \\u escape: expected four hex digits");
    }
    value = value * 16 + d;
  }
  return value;
}

void JsonReader::lex_utf8(unsigned char lead) {
  // RFC 3629 well-formed sequences only: no overlongs, no surrogates, nothing above U+10FFFF.
  int extra;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    extra = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    extra = 2;
    if (lead == 0xE0) lo = 0xA0;
    if (lead == 0xED) hi = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    extra = 3;
    if (lead == 0xF0) lo = 0x90;
    if (lead == 0xF4) hi = 0x8F;
  } else {
    --pos_;
    fail_here("invalid UTF-8 in a string (" + byte_text(lead) + ")");
  }
  scratch_.push_back(static_cast<char>(lead));
  for (int i = 0; i < extra; ++i) {
    const int c = get_byte();
    if (c < 0) fail_here("unexpected end of input inside a string");
    if (c < lo || c > hi) {
      --pos_;
      fail_here("invalid UTF-8 in a string (" + byte_text(c) + " after a lead byte)");
    }
    scratch_.push_back(static_cast<char>(c));
    lo = 0x80;
    hi = 0xBF;
  }
}

void JsonReader::lex_string() {
  scratch_.clear();
  const Position start = here();
  const std::uint64_t limit = limits_.max_string_bytes;
  for (;;) {
    // Copy the run of plain ASCII.
    std::size_t run = pos_;
    while (run < end_) {
      const auto c = static_cast<unsigned char>(buffer_[run]);
      if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
      ++run;
    }
    scratch_.append(buffer_.data() + pos_, run - pos_);
    pos_ = run;
    if (scratch_.size() > limit) {
      fail_at(start, "string longer than the limit of " + std::to_string(limit) + " bytes",
              false);
    }
    const int c = get_byte();
    if (c < 0) fail_here("unexpected end of input inside a string: the document is truncated");
    if (c == '"') return;
    if (c == '\\') {
      const int e = get_byte();
      switch (e) {
        case '"': scratch_.push_back('"'); break;
        case '\\': scratch_.push_back('\\'); break;
        case '/': scratch_.push_back('/'); break;
        case 'b': scratch_.push_back('\b'); break;
        case 'f': scratch_.push_back('\f'); break;
        case 'n': scratch_.push_back('\n'); break;
        case 'r': scratch_.push_back('\r'); break;
        case 't': scratch_.push_back('\t'); break;
        case 'u': {
          unsigned cp = read_hex4();
          if (cp >= 0xDC00 && cp <= 0xDFFF) fail_here("invalid \\u escape: a lone low surrogate");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (get_byte() != '\\' || get_byte() != 'u') {
              fail_here("invalid \\u escape: a high surrogate without its low surrogate");
            }
            const unsigned low = read_hex4();
            if (low < 0xDC00 || low > 0xDFFF) {
              fail_here("invalid \\u escape: a high surrogate without its low surrogate");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          if (cp < 0x80) {
            scratch_.push_back(static_cast<char>(cp));
          } else if (cp < 0x800) {
            scratch_.push_back(static_cast<char>(0xC0 | (cp >> 6)));
            scratch_.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          } else if (cp < 0x10000) {
            scratch_.push_back(static_cast<char>(0xE0 | (cp >> 12)));
            scratch_.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            scratch_.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          } else {
            scratch_.push_back(static_cast<char>(0xF0 | (cp >> 18)));
            scratch_.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
            scratch_.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            scratch_.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          }
          break;
        }
        default:
          if (e < 0) fail_here("unexpected end of input inside a string");
          --pos_;
          fail_here("invalid escape \\" + std::string(1, static_cast<char>(e)) + " in a string");
      }
      continue;
    }
    if (c < 0x20) {
      --pos_;
      fail_here("unescaped control character (" + byte_text(c) + ") in a string");
    }
    if (c < 0x80) {  // the run stopped at the end of the buffer
      scratch_.push_back(static_cast<char>(c));
      continue;
    }
    lex_utf8(static_cast<unsigned char>(c));
  }
}

void JsonReader::begin_object(std::string_view what) {
  if (next() != Tok::begin_object) type_error(what, "an object");
}

bool JsonReader::next_key() {
  const Tok t = next();
  if (t == Tok::key) return true;
  PF_ASSERT(t == Tok::end_object);
  return false;
}

void JsonReader::begin_array(std::string_view what) {
  if (next() != Tok::begin_array) type_error(what, "an array");
}

bool JsonReader::next_element() {
  if (peek() == Tok::end_array) {
    next();
    return false;
  }
  return true;
}

std::string_view JsonReader::string(std::string_view what) {
  if (next() != Tok::string) type_error(what, "a string");
  return scratch_;
}

bool JsonReader::optional_string(std::string_view what, std::string& out) {
  const Tok t = next();
  if (t == Tok::null) return false;
  if (t != Tok::string) type_error(what, "a string");
  out.assign(scratch_);
  return true;
}

double JsonReader::number(std::string_view what) {
  if (next() != Tok::number) type_error(what, "a number");
  return number_;
}

void JsonReader::skip() {
  const Tok t = next();
  if (t != Tok::begin_object && t != Tok::begin_array) return;
  const std::size_t depth = frames_.size();
  while (frames_.size() >= depth) next();
}

void JsonReader::finish() {
  if (next() != Tok::end) error("unexpected data after the JSON document");
}

}  // namespace pf::feeds::detail
