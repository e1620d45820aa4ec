// SPDX-License-Identifier: Apache-2.0
#include "patchflow/pki/signing.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <array>
#include <cstdint>

#include "ossl.hpp"

namespace pf::pki {

using namespace detail;

namespace {

constexpr std::size_t kEd25519SignatureBytes = 64;
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(const unsigned char* data, std::size_t size) {
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  for (std::size_t i = 0; i < size; i += 3) {
    const std::uint32_t n = (std::uint32_t{data[i]} << 16) |
                            (i + 1 < size ? std::uint32_t{data[i + 1]} << 8 : 0U) |
                            (i + 2 < size ? std::uint32_t{data[i + 2]} : 0U);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < size ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < size ? kAlphabet[n & 63] : '=';
  }
  return out;
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Strict RFC 4648 §4: groups of four, '=' only as padding at the end, the unused bits of the
// last group zero (so that each byte string has exactly one encoding).
Result<std::string> base64_decode(std::string_view text) {
  const auto bad = [](const char* why) {
    return make_error(Errc::invalid_input, std::string("signature is not base64: ") + why,
                      "signature");
  };
  if (text.size() % 4 != 0) return bad("its length is not a multiple of 4");
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = text[i + static_cast<std::size_t>(j)];
      if (c == '=' && last && j >= 2) {
        ++pad;
        v[j] = 0;
        continue;
      }
      if (pad > 0) return bad("data after padding");
      v[j] = base64_value(c);
      if (v[j] < 0) return bad("a character outside the base64 alphabet");
    }
    const std::uint32_t n = (static_cast<std::uint32_t>(v[0]) << 18) |
                            (static_cast<std::uint32_t>(v[1]) << 12) |
                            (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
    if ((pad == 1 && (n & 0xff) != 0) || (pad == 2 && (n & 0xffff) != 0)) {
      return bad("non-zero bits in the padding");
    }
    out += static_cast<char>((n >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

Result<void> require_ed25519(const EVP_PKEY* key, std::string_view where) {
  if (EVP_PKEY_is_a(key, "ED25519") != 1) {
    return make_error(Errc::invalid_input,
                      "the key is " + key_type_name(key) + ", not Ed25519", std::string(where));
  }
  return {};
}

}  // namespace

Result<SigningKey> generate_signing_key() {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) return ossl_error(Errc::backend_failed, "cannot generate an Ed25519 key", "keygen");
  return SigningKey{private_key_to_pem(key.get()), public_key_to_pem(key.get())};
}

Result<std::string> signing_public_key(std::string_view private_pem) {
  auto key = read_private_key(private_pem, "signing key");
  if (!key) return tl::unexpected(key.error());
  if (auto ok = require_ed25519(key->get(), "signing key"); !ok) return tl::unexpected(ok.error());
  return public_key_to_pem(key->get());
}

Result<std::string> sign(std::string_view private_pem, std::string_view bytes) {
  auto key = read_private_key(private_pem, "signing key");
  if (!key) return tl::unexpected(key.error());
  if (auto ok = require_ed25519(key->get(), "signing key"); !ok) return tl::unexpected(ok.error());
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::array<unsigned char, kEd25519SignatureBytes> sig{};
  std::size_t sig_len = sig.size();
  // Ed25519 is one-shot (PureEdDSA): no digest is named and the whole message goes in at once.
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key->get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig.data(), &sig_len,
                     reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()) != 1) {
    return ossl_error(Errc::backend_failed, "cannot sign", "signing key");
  }
  return base64_encode(sig.data(), sig_len);
}

Result<void> verify(std::string_view public_pem, std::string_view bytes,
                    std::string_view signature) {
  auto key = read_public_key(public_pem, "public key");
  if (!key) return tl::unexpected(key.error());
  if (auto ok = require_ed25519(key->get(), "public key"); !ok) return tl::unexpected(ok.error());
  if (signature.size() > 1024) {
    return make_error(Errc::invalid_input, "signature is far too long for Ed25519", "signature");
  }
  auto raw = base64_decode(signature);
  if (!raw) return tl::unexpected(raw.error());
  if (raw->size() != kEd25519SignatureBytes) {
    return make_error(Errc::invalid_input,
                      "an Ed25519 signature has 64 bytes, this one " + std::to_string(raw->size()),
                      "signature");
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key->get()) != 1) {
    return ossl_error(Errc::backend_failed, "cannot set up verification", "public key");
  }
  const int ok = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(raw->data()),
                                  raw->size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                                  bytes.size());
  ERR_clear_error();
  if (ok != 1) {
    return make_error(Errc::invalid_input,
                      "signature does not verify: the data was altered or signed by another key",
                      "signature");
  }
  return {};
}

Result<std::string> public_key_fingerprint(std::string_view public_pem) {
  auto key = read_public_key(public_pem, "public key");
  if (!key) return tl::unexpected(key.error());
  unsigned char* der = nullptr;
  const int n = i2d_PUBKEY(key->get(), &der);
  if (n <= 0) return ossl_error(Errc::backend_failed, "cannot encode the public key", "public key");
  OsslBuf<unsigned char> owner(der);
  return sha256_fingerprint(der, static_cast<std::size_t>(n));
}

}  // namespace pf::pki
