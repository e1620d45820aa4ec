// SPDX-License-Identifier: Apache-2.0
// Key and certificate files: atomic writes with their modes, the key permission check, and the
// server's first start (CA and server certificate created once, reused, re-issued, refused).
#include "patchflow/pki/files.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "pki_test_util.hpp"

namespace pki = pf::pki;
namespace fs = std::filesystem;
using namespace pf::pki::testing;
using namespace std::chrono_literals;

namespace {

class UmaskGuard {
 public:
  explicit UmaskGuard(mode_t m) : old_(::umask(m)) {}
  ~UmaskGuard() { ::umask(old_); }

 private:
  mode_t old_;
};

std::size_t entries(const fs::path& dir) {
  return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir), {}));
}

TEST(PkiFiles, SavePemWritesAtomicallyWithTheMode) {
  TempDir tmp;
  {
    UmaskGuard open_umask(0);  // the mode must not depend on the umask
    ASSERT_TRUE(pki::save_pem(tmp.path() / "k.key", "KEY\n", pki::kKeyFileMode));
  }
  {
    UmaskGuard strict_umask(077);
    ASSERT_TRUE(pki::save_pem(tmp.path() / "c.crt", "CERT\n", pki::kCertFileMode));
  }
  EXPECT_EQ(file_mode(tmp.path() / "k.key"), 0600U);
  EXPECT_EQ(file_mode(tmp.path() / "c.crt"), 0644U);
  EXPECT_EQ(slurp(tmp.path() / "k.key"), "KEY\n");

  // Replacing keeps the new mode and content, and leaves no temporary files behind.
  write_file(tmp.path() / "k.key", "OLD", 0644);
  ASSERT_TRUE(pki::save_pem(tmp.path() / "k.key", "NEW KEY\n", pki::kKeyFileMode));
  EXPECT_EQ(slurp(tmp.path() / "k.key"), "NEW KEY\n");
  EXPECT_EQ(file_mode(tmp.path() / "k.key"), 0600U);
  EXPECT_EQ(entries(tmp.path()), 2U);

  auto missing_dir = pki::save_pem(tmp.path() / "no" / "such" / "k.key", "x", 0600);
  ASSERT_FALSE(missing_dir);
  EXPECT_EQ(missing_dir.error().code, pf::Errc::io);
  EXPECT_NE(missing_dir.error().where.find("no/such/k.key"), std::string::npos);
  EXPECT_FALSE(pki::save_pem(tmp.path() / "x", "x", 010000));
  EXPECT_EQ(entries(tmp.path()), 2U);
}

TEST(PkiFiles, KeyFilePermissionsAreChecked) {
  TempDir tmp;
  const auto key = tmp.path() / "agent.key";
  write_file(key, "k", 0600);
  EXPECT_TRUE(pki::check_key_file_mode(key));
  write_file(key, "k", 0400);
  EXPECT_TRUE(pki::check_key_file_mode(key));
  for (const unsigned mode : {0644U, 0640U, 0604U, 0660U, 0666U}) {
    ::chmod(key.c_str(), mode);
    auto r = pki::check_key_file_mode(key);
    ASSERT_FALSE(r) << std::oct << mode;
    EXPECT_EQ(r.error().code, pf::Errc::conflict);
    EXPECT_EQ(r.error().where, key.string());
    EXPECT_NE(r.error().message.find("chmod 600"), std::string::npos);
  }
  ::chmod(key.c_str(), 0644);
  EXPECT_NE(pki::check_key_file_mode(key).error().message.find("0644"), std::string::npos);
  auto dir = pki::check_key_file_mode(tmp.path());
  ASSERT_FALSE(dir);
  EXPECT_NE(dir.error().message.find("regular file"), std::string::npos);
  auto missing = pki::check_key_file_mode(tmp.path() / "absent.key");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, pf::Errc::not_found);
}

TEST(PkiFiles, CaIsCreatedOnceThenReused) {
  TempDir tmp;
  const auto dir = tmp.path() / "pki";
  auto first = pki::load_or_create_ca(dir, {.common_name = "First Start CA"});
  ASSERT_TRUE(first) << pf::to_string(first.error());
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->reason, "absent");
  EXPECT_EQ(first->cert_file, dir / "ca.crt");
  EXPECT_EQ(first->key_file, dir / "ca.key");
  EXPECT_EQ(file_mode(dir), 0700U);
  EXPECT_EQ(file_mode(dir / "ca.key"), 0600U);
  EXPECT_EQ(file_mode(dir / "ca.crt"), 0644U);
  EXPECT_EQ(slurp(dir / "ca.crt"), first->pem.cert_pem);
  EXPECT_EQ(slurp(dir / "ca.key"), first->pem.key_pem);
  auto info = pki::certificate_info(first->pem.cert_pem);
  ASSERT_TRUE(info);
  EXPECT_TRUE(info->is_ca);
  EXPECT_EQ(info->subject_cn, "First Start CA");

  auto second = pki::load_or_create_ca(dir, {.common_name = "ignored when present"});
  ASSERT_TRUE(second) << pf::to_string(second.error());
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->pem.cert_pem, first->pem.cert_pem);
  EXPECT_EQ(second->pem.key_pem, first->pem.key_pem);
}

TEST(PkiFiles, CaFilesThatAreWrongAreRefusedNamingTheFile) {
  TempDir tmp;
  const auto dir = tmp.path();
  auto ca = pki::load_or_create_ca(dir);
  ASSERT_TRUE(ca);
  const std::string key_file = (dir / "ca.key").string();
  const std::string cert_file = (dir / "ca.crt").string();

  ::chmod(key_file.c_str(), 0640);
  auto loose = pki::load_or_create_ca(dir);
  ASSERT_FALSE(loose);
  EXPECT_EQ(loose.error().where, key_file);
  EXPECT_NE(loose.error().message.find("0640"), std::string::npos);
  ::chmod(key_file.c_str(), 0600);

  // Another CA's key in place of ours.
  auto stranger = pki::create_ca({.common_name = "stranger"});
  ASSERT_TRUE(stranger);
  write_file(key_file, stranger->key_pem, 0600);
  auto mismatch = pki::load_or_create_ca(dir);
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.error().where, key_file);
  EXPECT_NE(mismatch.error().message.find("does not match"), std::string::npos);
  EXPECT_NE(mismatch.error().message.find(cert_file), std::string::npos);
  write_file(key_file, ca->pem.key_pem, 0600);
  EXPECT_TRUE(pki::load_or_create_ca(dir));

  // Garbage certificate.
  write_file(cert_file, "not a certificate\n", 0644);
  auto garbage = pki::load_or_create_ca(dir);
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().where, cert_file);

  // A certificate that is not a CA, with its matching key.
  auto leaf = pki::issue_server_cert(ca->pem, {.dns_names = {"leaf.example"}});
  ASSERT_TRUE(leaf);
  write_file(cert_file, leaf->cert_pem, 0644);
  write_file(key_file, leaf->key_pem, 0600);
  auto not_ca = pki::load_or_create_ca(dir);
  ASSERT_FALSE(not_ca);
  EXPECT_EQ(not_ca.error().where, cert_file);
  EXPECT_NE(not_ca.error().message.find("not a CA"), std::string::npos);

  // Half a pair is never completed with a new CA.
  fs::remove(cert_file);
  auto half = pki::load_or_create_ca(dir);
  ASSERT_FALSE(half);
  EXPECT_EQ(half.error().code, pf::Errc::conflict);
  EXPECT_EQ(half.error().where, cert_file);
  EXPECT_FALSE(fs::exists(cert_file));
  EXPECT_EQ(slurp(key_file), leaf->key_pem);
}

TEST(PkiFiles, ServerCertIsCreatedReusedAndReissued) {
  TempDir tmp;
  auto ca = pki::load_or_create_ca(tmp.path());
  ASSERT_TRUE(ca);
  const auto now = std::chrono::time_point_cast<std::chrono::seconds>(
      std::chrono::system_clock::now());
  pki::ServerCertOptions names{.common_name = "server.example",
                               .dns_names = {"server.example", "localhost"},
                               .ip_addresses = {"127.0.0.1"},
                               .validity_days = 90,
                               .now = now};
  auto first = pki::load_or_create_server_cert(tmp.path(), ca->pem, names);
  ASSERT_TRUE(first) << pf::to_string(first.error());
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->reason, "absent");
  EXPECT_EQ(file_mode(tmp.path() / "server.key"), 0600U);
  EXPECT_EQ(file_mode(tmp.path() / "server.crt"), 0644U);
  EXPECT_TRUE(pki::verify_chain(first->pem.cert_pem, ca->pem.cert_pem, now, pki::Purpose::server));

  // Same names, later but with most of the validity left: reused.
  names.now = now + 24h * 30;
  auto again = pki::load_or_create_server_cert(tmp.path(), ca->pem, names);
  ASSERT_TRUE(again) << pf::to_string(again.error());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->pem.cert_pem, first->pem.cert_pem);

  // Fewer names than it has: still reused; a new name: re-issued.
  names.dns_names = {"localhost"};
  EXPECT_FALSE(pki::load_or_create_server_cert(tmp.path(), ca->pem, names)->created);
  names.dns_names = {"server.example", "localhost", "new.example"};
  auto renamed = pki::load_or_create_server_cert(tmp.path(), ca->pem, names);
  ASSERT_TRUE(renamed);
  EXPECT_TRUE(renamed->created);
  EXPECT_EQ(renamed->reason, "names changed");
  EXPECT_EQ(pki::certificate_info(slurp(tmp.path() / "server.crt"))->dns_names.size(), 3U);

  // Less than a third left: re-issued; past the end: re-issued.
  names.now = *names.now + 24h * 61;
  auto rotated = pki::load_or_create_server_cert(tmp.path(), ca->pem, names);
  ASSERT_TRUE(rotated);
  EXPECT_TRUE(rotated->created);
  EXPECT_EQ(rotated->reason, "expires soon");
  names.now = *names.now + 24h * 200;
  auto expired = pki::load_or_create_server_cert(tmp.path(), ca->pem, names);
  ASSERT_TRUE(expired);
  EXPECT_EQ(expired->reason, "expired");
  auto info = pki::certificate_info(expired->pem.cert_pem);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->not_after, *names.now + std::chrono::days{90});
}

TEST(PkiFiles, ServerCertFromAnotherCaOrWithLooseKeyIsRefused) {
  TempDir tmp;
  auto ca = pki::load_or_create_ca(tmp.path() / "ca");
  auto other = pki::create_ca({.common_name = "other"});
  ASSERT_TRUE(ca && other);
  const pki::ServerCertOptions names{.dns_names = {"localhost"}};
  const auto dir = tmp.path() / "srv";
  ASSERT_TRUE(pki::load_or_create_server_cert(dir, *other, names));
  auto foreign = pki::load_or_create_server_cert(dir, ca->pem, names);
  ASSERT_FALSE(foreign);
  EXPECT_EQ(foreign.error().where, (dir / "server.crt").string());
  EXPECT_NE(foreign.error().message.find("not issued by this CA"), std::string::npos)
      << foreign.error().message;

  ::chmod((dir / "server.key").c_str(), 0644);
  auto loose = pki::load_or_create_server_cert(dir, *other, names);
  ASSERT_FALSE(loose);
  EXPECT_EQ(loose.error().where, (dir / "server.key").string());
}

}  // namespace
