// SPDX-License-Identifier: Apache-2.0
// Lexer and recursive-descent parser of the condition language. Precedence, lowest first:
// ||, &&, relations (< <= > >= == != in), + -, * / %, unary ! -, member access . [] ().
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ast.hpp"
#include "patchflow/cel/expr.hpp"

namespace pf::cel {

namespace {

enum class Tok { end, ident, int_lit, double_lit, string_lit, punct };

struct Token {
  Tok kind{Tok::end};
  std::string text;  ///< ident name, punctuation, or the string literal's value
  std::uint64_t magnitude{0};
  double real{0};
  std::size_t begin{0};
  std::size_t end{0};
  std::uint32_t line{1};
  std::uint32_t column{1};
};

constexpr std::string_view kReserved[] = {"as",      "break",   "const",    "continue", "else",
                                          "for",     "function", "if",      "import",   "let",
                                          "loop",    "package", "namespace", "return",  "var",
                                          "void",    "while"};

bool is_reserved(std::string_view word) {
  for (const auto r : kReserved)
    if (r == word) return true;
  return false;
}

std::string pos_text(std::uint32_t line, std::uint32_t column) {
  return std::to_string(line) + ":" + std::to_string(column);
}

// Length of the valid UTF-8 sequence at s[i], or 0.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t len = 0;
  std::uint32_t cp = 0;
  if (b0 < 0x80) return 1;
  if ((b0 & 0xE0) == 0xC0) { len = 2; cp = b0 & 0x1Fu; }
  else if ((b0 & 0xF0) == 0xE0) { len = 3; cp = b0 & 0x0Fu; }
  else if ((b0 & 0xF8) == 0xF0) { len = 4; cp = b0 & 0x07u; }
  else return 0;
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return len;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool ident_char(char c) { return ident_start(c) || (c >= '0' && c <= '9'); }
bool digit(char c) { return c >= '0' && c <= '9'; }

class Lexer {
 public:
  explicit Lexer(std::string_view src) : src_(src) {}

  Result<std::vector<Token>> run() {
    std::vector<Token> out;
    while (true) {
      skip_space();
      Token t;
      t.begin = i_;
      t.line = line_;
      t.column = column_;
      if (i_ >= src_.size()) {
        t.kind = Tok::end;
        t.end = i_;
        out.push_back(std::move(t));
        return out;
      }
      const char c = src_[i_];
      if (ident_start(c)) {
        while (i_ < src_.size() && ident_char(src_[i_])) advance();
        t.kind = Tok::ident;
        t.text = std::string(src_.substr(t.begin, i_ - t.begin));
      } else if (digit(c)) {
        auto r = number(t);
        if (!r) return tl::unexpected(r.error());
      } else if (c == '\'' || c == '"') {
        auto r = string_literal(t);
        if (!r) return tl::unexpected(r.error());
      } else {
        auto r = punct(t);
        if (!r) return tl::unexpected(r.error());
      }
      t.end = i_;
      out.push_back(std::move(t));
    }
  }

 private:
  Unexpected error_here(std::string message) const {
    return make_error(Errc::invalid_input, std::move(message), pos_text(line_, column_));
  }
  static Unexpected error_at(const Token& t, std::string message) {
    return make_error(Errc::invalid_input, std::move(message), pos_text(t.line, t.column));
  }

  void advance() {
    const auto b = static_cast<unsigned char>(src_[i_]);
    if (b == '\n') {
      ++line_;
      column_ = 1;
    } else if ((b & 0xC0) != 0x80) {
      ++column_;
    }
    ++i_;
  }

  void skip_space() {
    while (i_ < src_.size()) {
      const char c = src_[i_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
        advance();
      } else if (c == '/' && i_ + 1 < src_.size() && src_[i_ + 1] == '/') {
        while (i_ < src_.size() && src_[i_] != '\n') advance();
      } else {
        return;
      }
    }
  }

  Result<void> number(Token& t) {
    bool hex = false;
    bool real = false;
    if (src_[i_] == '0' && i_ + 1 < src_.size() && (src_[i_ + 1] == 'x' || src_[i_ + 1] == 'X')) {
      hex = true;
      advance();
      advance();
      const std::size_t start = i_;
      while (i_ < src_.size() && hex_digit(src_[i_]) >= 0) advance();
      if (i_ == start) return error_at(t, "expected hexadecimal digits after '0x'");
    } else {
      while (i_ < src_.size() && digit(src_[i_])) advance();
      if (i_ + 1 < src_.size() && src_[i_] == '.' && digit(src_[i_ + 1])) {
        real = true;
        advance();
        while (i_ < src_.size() && digit(src_[i_])) advance();
      }
      if (i_ < src_.size() && (src_[i_] == 'e' || src_[i_] == 'E')) {
        std::size_t k = i_ + 1;
        if (k < src_.size() && (src_[k] == '+' || src_[k] == '-')) ++k;
        if (k < src_.size() && digit(src_[k])) {
          real = true;
          while (i_ < k) advance();
          while (i_ < src_.size() && digit(src_[i_])) advance();
        }
      }
    }
    if (i_ < src_.size() && (src_[i_] == 'u' || src_[i_] == 'U') && !real)
      return error_here("unsigned integers are not supported (drop the 'u')");
    if (i_ < src_.size() && ident_char(src_[i_]))
      return error_here("expected a digit or an operator after a number, found '" +
                        std::string(1, src_[i_]) + "'");
    const std::string_view text = src_.substr(t.begin, i_ - t.begin);
    if (real) {
      t.kind = Tok::double_lit;
      double d = 0;
      const auto res = std::from_chars(text.data(), text.data() + text.size(), d);
      if (res.ec != std::errc() || !std::isfinite(d))
        return error_at(t, "double literal out of range: " + std::string(text));
      t.real = d;
    } else {
      t.kind = Tok::int_lit;
      const std::string_view digits = hex ? text.substr(2) : text;
      std::uint64_t v = 0;
      const auto res =
          std::from_chars(digits.data(), digits.data() + digits.size(), v, hex ? 16 : 10);
      if (res.ec != std::errc() || v > (std::uint64_t{1} << 63))
        return error_at(t, "integer literal out of range: " + std::string(text));
      t.magnitude = v;
    }
    return {};
  }

  Result<void> string_literal(Token& t) {
    const char quote = src_[i_];
    advance();
    std::string value;
    while (true) {
      if (i_ >= src_.size()) return error_at(t, "unterminated string: expected a closing " +
                                                std::string(1, quote) + " before the end");
      const char c = src_[i_];
      if (c == quote) {
        advance();
        break;
      }
      if (c == '\n' || c == '\r')
        return error_at(t, "unterminated string: expected a closing " + std::string(1, quote) +
                               " before the end of the line");
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F)
        return error_here("control character in a string (write it as an escape)");
      if (c != '\\') {
        value += c;
        advance();
        continue;
      }
      advance();
      if (i_ >= src_.size()) return error_at(t, "unterminated string after '\\'");
      const char e = src_[i_];
      switch (e) {
        case '\\': case '\'': case '"': case '`': case '?':
          value += e; advance(); continue;
        case 'n': value += '\n'; advance(); continue;
        case 'r': value += '\r'; advance(); continue;
        case 't': value += '\t'; advance(); continue;
        case 'a': value += '\a'; advance(); continue;
        case 'b': value += '\b'; advance(); continue;
        case 'f': value += '\f'; advance(); continue;
        case 'v': value += '\v'; advance(); continue;
        case 'x': case 'u': case 'U': {
          const int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          advance();
          std::uint32_t cp = 0;
          for (int k = 0; k < n; ++k) {
            if (i_ >= src_.size() || hex_digit(src_[i_]) < 0)
              return error_here("expected " + std::to_string(n) + " hexadecimal digits after '\\" +
                                std::string(1, e) + "'");
            cp = cp * 16 + static_cast<std::uint32_t>(hex_digit(src_[i_]));
            advance();
          }
          if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return error_here("escape is not a Unicode scalar value");
          append_utf8(value, cp);
          continue;
        }
        default:
          return error_here("unknown escape '\\" + std::string(1, e) + "'");
      }
    }
    t.kind = Tok::string_lit;
    t.text = std::move(value);
    return {};
  }

  Result<void> punct(Token& t) {
    static constexpr std::string_view kTwo[] = {"<=", ">=", "==", "!=", "&&", "||"};
    const std::string_view rest = src_.substr(i_);
    for (const auto op : kTwo) {
      if (rest.starts_with(op)) {
        advance();
        advance();
        t.kind = Tok::punct;
        t.text = std::string(op);
        return {};
      }
    }
    const char c = src_[i_];
    if (c == '=') return error_here("expected '==' (comparison), found '='");
    if (c == '&') return error_here("expected '&&', found a single '&'");
    if (c == '|') return error_here("expected '||', found a single '|'");
    static constexpr std::string_view kOne = "()[]{}.,!-+*/%<>?:";
    if (kOne.find(c) != std::string_view::npos) {
      advance();
      t.kind = Tok::punct;
      t.text = std::string(1, c);
      return {};
    }
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7F) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned>(b));
      return error_here(std::string("unexpected control character ") + hex);
    }
    const std::size_t len = utf8_length(src_, i_);
    return error_here("unexpected character '" + std::string(src_.substr(i_, len ? len : 1)) +
                      "'");
  }

  std::string_view src_;
  std::size_t i_{0};
  std::uint32_t line_{1};
  std::uint32_t column_{1};
};

std::string describe(const Token& t) {
  switch (t.kind) {
    case Tok::end: return "end of input";
    case Tok::ident: return "'" + t.text + "'";
    case Tok::int_lit: return "number " + std::to_string(t.magnitude);
    case Tok::double_lit: return "number";
    case Tok::string_lit: return "a string";
    case Tok::punct: return "'" + t.text + "'";
  }
  return "?";
}

class Parser {
 public:
  Parser(std::vector<Token> tokens) : toks_(std::move(tokens)) {}

  Result<NodePtr> run() {
    auto e = expr();
    if (!e) return e;
    if (peek().kind != Tok::end)
      return error_at(peek(), "expected an operator or the end of the expression, found " +
                                  describe(peek()));
    return e;
  }

 private:
  using R = Result<NodePtr>;

  const Token& peek(std::size_t ahead = 0) const {
    return toks_[std::min(pos_ + ahead, toks_.size() - 1)];
  }
  const Token& next() {
    const Token& t = toks_[pos_];
    if (pos_ + 1 < toks_.size()) ++pos_;
    prev_end_ = t.end;
    return t;
  }
  bool is(std::string_view p) const { return peek().kind == Tok::punct && peek().text == p; }

  static Unexpected error_at(const Token& t, std::string message) {
    return make_error(Errc::invalid_input, std::move(message), pos_text(t.line, t.column));
  }
  static Unexpected too_deep(const Token& t) {
    return error_at(t, "expression nested more than " + std::to_string(kMaxDepth) + " levels");
  }

  // A node anchored at token `at`, spanning from `begin` to the last consumed token.
  R make(Node n, const Token& at, std::size_t begin) {
    n.line = at.line;
    n.column = at.column;
    n.begin = begin;
    n.end = prev_end_;
    std::size_t d = 0;
    for (const auto& a : n.args) d = std::max(d, a->depth);
    n.depth = d + 1;
    if (n.depth > kMaxDepth) return too_deep(at);
    return std::make_shared<const Node>(std::move(n));
  }

  R expr() {
    if (++nest_ > kMaxDepth) return too_deep(peek());
    auto r = logic("||");
    --nest_;
    return r;
  }

  R logic(std::string_view op) {
    const Token& first = peek();
    const std::size_t begin = first.begin;
    auto lhs = op == "||" ? logic("&&") : relation();
    if (!lhs || !is(op)) return lhs;
    Node n;
    n.kind = NodeKind::logic;
    n.name = std::string(op);
    n.args.push_back(*lhs);
    const Token* at = &peek();
    while (is(op)) {
      next();
      auto rhs = op == "||" ? logic("&&") : relation();
      if (!rhs) return rhs;
      n.args.push_back(*rhs);
    }
    return make(std::move(n), *at, begin);
  }

  R binary_chain(R (Parser::*operand)(), std::initializer_list<std::string_view> ops) {
    const std::size_t begin = peek().begin;
    auto lhs = (this->*operand)();
    if (!lhs) return lhs;
    while (true) {
      const Token& t = peek();
      bool match = false;
      for (const auto op : ops)
        if ((t.kind == Tok::punct || (t.kind == Tok::ident && op == "in")) && t.text == op)
          match = true;
      if (!match) return lhs;
      const Token op = next();
      auto rhs = (this->*operand)();
      if (!rhs) return rhs;
      Node n;
      n.kind = NodeKind::binary;
      n.name = op.text;
      n.args = {*lhs, *rhs};
      lhs = make(std::move(n), op, begin);
      if (!lhs) return lhs;
    }
  }

  R relation() {
    auto r = binary_chain(&Parser::additive, {"<", "<=", ">", ">=", "==", "!=", "in"});
    if (r && is("?")) return error_at(peek(), "the conditional operator '? :' is not supported");
    return r;
  }
  R additive() { return binary_chain(&Parser::multiplicative, {"+", "-"}); }
  R multiplicative() { return binary_chain(&Parser::unary, {"*", "/", "%"}); }

  R unary() {
    if (!is("!") && !is("-")) return member();
    if (++nest_ > kMaxDepth) return too_deep(peek());
    const Token op = next();
    R r;
    const bool member_follows = peek(1).kind == Tok::punct &&
                                (peek(1).text == "." || peek(1).text == "[" || peek(1).text == "(");
    if (op.text == "-" && peek().kind == Tok::int_lit && !member_follows) {
      // A negative literal: lets -9223372036854775808 be written.
      const Token lit = next();
      Node n;
      n.kind = NodeKind::literal;
      n.value = Value(static_cast<std::int64_t>(0) - static_cast<std::int64_t>(lit.magnitude - 1) - 1);
      r = make(std::move(n), op, op.begin);
    } else {
      auto operand = unary();
      if (!operand) {
        r = operand;
      } else {
        Node n;
        n.kind = NodeKind::unary;
        n.name = op.text;
        n.args = {*operand};
        r = make(std::move(n), op, op.begin);
      }
    }
    --nest_;
    return r;
  }

  R member() {
    const std::size_t begin = peek().begin;
    auto p = primary();
    if (!p) return p;
    return postfix(*p, begin);
  }

  // Arguments up to the closing ')' (the '(' already consumed).
  Result<std::vector<NodePtr>> arguments(const Token& open) {
    std::vector<NodePtr> args;
    if (is(")")) {
      next();
      return args;
    }
    while (true) {
      auto a = expr();
      if (!a) return tl::unexpected(a.error());
      args.push_back(*a);
      if (is(",")) {
        next();
        continue;
      }
      if (is(")")) {
        next();
        return args;
      }
      return error_at(peek(), "expected ',' or ')' to close '(' at " +
                                  pos_text(open.line, open.column) + ", found " + describe(peek()));
    }
  }

  R postfix(NodePtr base, std::size_t begin) {
    while (true) {
      if (is(".")) {
        next();
        const Token name = peek();
        if (name.kind != Tok::ident)
          return error_at(name, "expected a field name after '.', found " + describe(name));
        if (is_reserved(name.text) || name.text == "in")
          return error_at(name, "'" + name.text + "' is a reserved word");
        next();
        if (is("(")) {
          const Token open = next();
          auto args = arguments(open);
          if (!args) return tl::unexpected(args.error());
          Node n;
          n.name = name.text;
          if (name.text == "all" || name.text == "exists" || name.text == "filter") {
            if (args->size() != 2)
              return error_at(name, name.text + "() takes 2 arguments (a variable and a condition), found " +
                                        std::to_string(args->size()));
            const Node& v = *(*args)[0];
            if (v.kind != NodeKind::ident)
              return error_at(open, "the first argument of " + name.text +
                                        "() must be a variable name");
            n.kind = NodeKind::macro;
            n.var = v.name;
            n.args = {base, (*args)[1]};
          } else {
            n.kind = NodeKind::call;
            n.method = true;
            n.args.push_back(base);
            for (auto& a : *args) n.args.push_back(std::move(a));
          }
          auto r = make(std::move(n), name, begin);
          if (!r) return r;
          base = *r;
        } else {
          Node n;
          n.kind = NodeKind::select;
          n.name = name.text;
          n.args = {base};
          auto r = make(std::move(n), name, begin);
          if (!r) return r;
          base = *r;
        }
      } else if (is("[")) {
        const Token open = next();
        auto idx = expr();
        if (!idx) return idx;
        if (!is("]"))
          return error_at(peek(), "expected ']' to close '[' at " + pos_text(open.line, open.column) +
                                      ", found " + describe(peek()));
        next();
        Node n;
        n.kind = NodeKind::index;
        n.args = {base, *idx};
        auto r = make(std::move(n), open, begin);
        if (!r) return r;
        base = *r;
      } else {
        return base;
      }
    }
  }

  R primary() {
    const Token t = peek();
    Node n;
    switch (t.kind) {
      case Tok::end:
        return error_at(t, "expected a value, a name or '(', found end of input");
      case Tok::int_lit:
        next();
        if (t.magnitude > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
          return error_at(t, "integer literal out of range");
        n.value = Value(static_cast<std::int64_t>(t.magnitude));
        return make(std::move(n), t, t.begin);
      case Tok::double_lit:
        next();
        n.value = Value(t.real);
        return make(std::move(n), t, t.begin);
      case Tok::string_lit:
        next();
        n.value = Value(t.text);
        return make(std::move(n), t, t.begin);
      case Tok::ident: {
        next();
        if (t.text == "true" || t.text == "false") {
          n.value = Value(t.text == "true");
          return make(std::move(n), t, t.begin);
        }
        if (t.text == "null") return make(std::move(n), t, t.begin);
        if (t.text == "in" || is_reserved(t.text))
          return error_at(t, "expected a value or a name, found the reserved word '" + t.text + "'");
        if (is("(")) {
          const Token open = next();
          auto args = arguments(open);
          if (!args) return tl::unexpected(args.error());
          n.kind = NodeKind::call;
          n.name = t.text;
          n.args = std::move(*args);
          return make(std::move(n), t, t.begin);
        }
        n.kind = NodeKind::ident;
        n.name = t.text;
        return make(std::move(n), t, t.begin);
      }
      case Tok::punct:
        break;
    }
    if (t.text == "(") {
      next();
      auto e = expr();
      if (!e) return e;
      if (!is(")"))
        return error_at(peek(), "expected ')' to close '(' at " + pos_text(t.line, t.column) +
                                    ", found " + describe(peek()));
      next();
      return e;
    }
    if (t.text == "[") {
      next();
      n.kind = NodeKind::list;
      while (!is("]")) {
        auto e = expr();
        if (!e) return e;
        n.args.push_back(*e);
        if (is(",")) {
          next();
          continue;
        }
        if (!is("]"))
          return error_at(peek(), "expected ',' or ']' to close '[' at " +
                                      pos_text(t.line, t.column) + ", found " + describe(peek()));
      }
      next();
      return make(std::move(n), t, t.begin);
    }
    if (t.text == "{") return error_at(t, "map literals are not supported");
    return error_at(t, "expected a value, a name or '(', found " + describe(t));
  }

  std::vector<Token> toks_;
  std::size_t pos_{0};
  std::size_t prev_end_{0};
  std::size_t nest_{0};
};

void debug(std::string& out, const Node& n) {
  switch (n.kind) {
    case NodeKind::literal: out += n.value.to_string(std::numeric_limits<std::size_t>::max() / 2); return;
    case NodeKind::ident: out += n.name; return;
    case NodeKind::select: debug(out, *n.args[0]); out += "." + n.name; return;
    case NodeKind::index:
      debug(out, *n.args[0]);
      out += '[';
      debug(out, *n.args[1]);
      out += ']';
      return;
    case NodeKind::call:
    case NodeKind::macro: {
      std::size_t first = 0;
      if (n.method || n.kind == NodeKind::macro) {
        debug(out, *n.args[0]);
        out += '.';
        first = 1;
      }
      out += n.name + "(";
      if (n.kind == NodeKind::macro) out += n.var + ", ";
      for (std::size_t i = first; i < n.args.size(); ++i) {
        if (i > first) out += ", ";
        debug(out, *n.args[i]);
      }
      out += ')';
      return;
    }
    case NodeKind::unary:
      // -(5) stays a unary minus when read back; -5 would be a literal.
      if (n.name == "-" && n.args[0]->kind == NodeKind::literal) {
        out += "(-(";
        debug(out, *n.args[0]);
        out += "))";
        return;
      }
      out += "(" + n.name;
      debug(out, *n.args[0]);
      out += ')';
      return;
    case NodeKind::binary:
    case NodeKind::logic:
      out += '(';
      for (std::size_t i = 0; i < n.args.size(); ++i) {
        if (i > 0) out += " " + n.name + " ";
        debug(out, *n.args[i]);
      }
      out += ')';
      return;
    case NodeKind::list:
      out += '[';
      for (std::size_t i = 0; i < n.args.size(); ++i) {
        if (i > 0) out += ", ";
        debug(out, *n.args[i]);
      }
      out += ']';
      return;
  }
}

}  // namespace

Result<Expr> parse(std::string_view source) {
  if (source.size() > kMaxSourceBytes)
    return make_error(Errc::invalid_input,
                      "expression is " + std::to_string(source.size()) + " bytes, more than " +
                          std::to_string(kMaxSourceBytes),
                      "1:1");
  // Valid UTF-8 first, so that every later message can quote the text.
  std::uint32_t line = 1;
  std::uint32_t column = 1;
  for (std::size_t i = 0; i < source.size();) {
    const std::size_t len = utf8_length(source, i);
    if (len == 0) return make_error(Errc::invalid_input, "invalid UTF-8", pos_text(line, column));
    if (source[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    i += len;
  }
  auto tokens = Lexer(source).run();
  if (!tokens) return tl::unexpected(tokens.error());
  if (tokens->size() == 1)
    return make_error(Errc::invalid_input, "expected an expression, found end of input", "1:1");
  auto root = Parser(std::move(*tokens)).run();
  if (!root) return tl::unexpected(root.error());
  return Expr(std::make_shared<const std::string>(source), std::move(*root));
}

Expr::Expr()
    : source_(std::make_shared<const std::string>("null")), root_(std::make_shared<const Node>()) {}

std::string Expr::debug_string() const {
  std::string out;
  if (root_) debug(out, *root_);
  return out;
}

}  // namespace pf::cel
