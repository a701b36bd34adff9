// Tests for tls/certificate.h: the development certificate (written, reused,
// renewed), loading chains and keys and every reason to refuse them, the
// names a certificate is for, and SNI name matching. Certificates are made
// in-process with BoringSSL, so no openssl CLI is needed; time is a fixed
// unix timestamp, never the clock.
#include "tls/certificate.h"

#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/cipher.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace ringshard::tls {
namespace RS_UNITY_ID {

constexpr int64_t kDay = 86400;
constexpr int64_t kNow = 1'750'000'000;  // 2025-06-15T15:06:40Z

// A fresh directory under /tmp, removed with everything in it at the end.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/ringshard-cert-test-XXXXXX";
    const char* made = ::mkdtemp(pattern);
    EXPECT_NE(made, nullptr) << std::strerror(errno);
    if (made != nullptr) path_ = made;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  ASSERT_TRUE(out.good()) << path;
}

mode_t mode_of(const std::string& path) {
  struct stat info {};
  EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
  return info.st_mode & 07777;
}

bssl::UniquePtr<EVP_PKEY> ec_key(int curve) {
  bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(curve));
  bssl::UniquePtr<EVP_PKEY> key(EVP_PKEY_new());
  if (!ec || !key || !EC_KEY_generate_key(ec.get()) ||
      !EVP_PKEY_set1_EC_KEY(key.get(), ec.get())) {
    ADD_FAILURE() << "EC key generation failed";
    return nullptr;
  }
  return key;
}

bssl::UniquePtr<EVP_PKEY> rsa_key(int bits) {
  bssl::UniquePtr<RSA> rsa(RSA_new());
  bssl::UniquePtr<BIGNUM> exponent(BN_new());
  bssl::UniquePtr<EVP_PKEY> key(EVP_PKEY_new());
  if (!rsa || !exponent || !key || !BN_set_word(exponent.get(), RSA_F4) ||
      !RSA_generate_key_ex(rsa.get(), bits, exponent.get(), nullptr) ||
      !EVP_PKEY_set1_RSA(key.get(), rsa.get())) {
    ADD_FAILURE() << "RSA key generation failed";
    return nullptr;
  }
  return key;
}

struct CertSpec {
  std::string common_name;
  std::string alt_names;  // X509v3 config syntax: "DNS:a,IP:1.2.3.4"; "" for none
  bool ca = false;
  int64_t not_before = kNow - kDay;
  int64_t not_after = kNow + 90 * kDay;
};

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  bssl::UniquePtr<X509_EXTENSION> extension(
      X509V3_EXT_nconf_nid(nullptr, &context, nid, value.c_str()));
  ASSERT_TRUE(extension) << value;
  ASSERT_TRUE(X509_add_ext(cert, extension.get(), -1));
}

// A certificate for `key`, signed by issuer/issuer_key (self-signed when
// issuer is null).
bssl::UniquePtr<X509> make_cert(const CertSpec& spec, EVP_PKEY* key,
                                X509* issuer = nullptr, EVP_PKEY* issuer_key = nullptr) {
  static long next_serial = 1;
  bssl::UniquePtr<X509> cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), next_serial++);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(spec.not_before));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(spec.not_after));
  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (!spec.common_name.empty()) {
    X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_UTF8,
                               reinterpret_cast<const uint8_t*>(spec.common_name.c_str()),
                               -1, -1, 0);
  }
  X509_set_issuer_name(cert.get(),
                       issuer != nullptr ? X509_get_subject_name(issuer) : subject);
  X509_set_pubkey(cert.get(), key);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  add_extension(cert.get(), signer, NID_basic_constraints,
                spec.ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  if (!spec.alt_names.empty()) {
    add_extension(cert.get(), signer, NID_subject_alt_name, spec.alt_names);
  }
  EXPECT_TRUE(
      X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()));
  return cert;
}

std::string pem_of(X509* cert) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  EXPECT_TRUE(PEM_write_bio_X509(bio.get(), cert));
  const uint8_t* data = nullptr;
  size_t length = 0;
  BIO_mem_contents(bio.get(), &data, &length);
  return std::string(reinterpret_cast<const char*>(data), length);
}

std::string pem_of(EVP_PKEY* key, const EVP_CIPHER* cipher = nullptr,
                   const char* password = nullptr) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  EXPECT_TRUE(PEM_write_bio_PrivateKey(
      bio.get(), key, cipher,
      reinterpret_cast<unsigned char*>(const_cast<char*>(password)),
      password != nullptr ? static_cast<int>(std::strlen(password)) : 0, nullptr,
      nullptr));
  const uint8_t* data = nullptr;
  size_t length = 0;
  BIO_mem_contents(bio.get(), &data, &length);
  return std::string(reinterpret_cast<const char*>(data), length);
}

// A self-signed certificate for `key`, and the key, as PEM texts.
struct PemPair {
  std::string cert;
  std::string key;
};
PemPair self_signed(EVP_PKEY* key, const CertSpec& spec) {
  bssl::UniquePtr<X509> cert = make_cert(spec, key);
  return {pem_of(cert.get()), pem_of(key)};
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

TEST(DevCertificate, IsWrittenIntoNewDirectoriesWithAPrivateKeyFile) {
  TempDir temp;
  const std::string dir = temp.file("state/ringshard");
  std::string error;
  const auto dev = ensure_dev_certificate(dir, kNow, error);
  ASSERT_TRUE(dev) << error;
  EXPECT_TRUE(dev->generated);
  EXPECT_EQ(dev->cert_path, dir + "/dev-cert.pem");
  EXPECT_EQ(dev->key_path, dir + "/dev-key.pem");
  EXPECT_EQ(mode_of(dev->key_path), 0600u);
  EXPECT_EQ(mode_of(dir), 0700u);
  EXPECT_EQ(mode_of(temp.file("state")), 0700u);
  EXPECT_TRUE(starts_with(read_all(dev->cert_path), "-----BEGIN CERTIFICATE-----\n"));
  EXPECT_TRUE(starts_with(read_all(dev->key_path), "-----BEGIN PRIVATE KEY-----\n"));
  // Nothing else is left behind: no temporary files.
  size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir)) {
    ++entries;
  }
  EXPECT_EQ(entries, 2u);
}

TEST(DevCertificate, IsASelfSignedServerCertificateForLocalhost) {
  TempDir temp;
  std::string error;
  const auto dev = ensure_dev_certificate(temp.path(), kNow, error);
  ASSERT_TRUE(dev) << error;
  const auto credential = Credential::load(dev->cert_path, dev->key_path, kNow, error);
  ASSERT_TRUE(credential) << error;

  EXPECT_EQ(credential->names(), std::vector<std::string>{"localhost"});
  EXPECT_TRUE(credential->is_ecdsa());
  EXPECT_TRUE(credential->chain().empty());
  EXPECT_EQ(credential->not_after_unix(), kNow - 3600 + 365 * kDay);
  EXPECT_EQ(credential->describe(), "ECDSA P-256, CN=localhost, expires 2026-06-15");

  X509* leaf = credential->leaf();
  EXPECT_EQ(X509_get_signature_nid(leaf), NID_ecdsa_with_SHA256);
  EXPECT_EQ(X509_verify(leaf, credential->key()), 1);  // self-signed
  EXPECT_EQ(X509_check_host(leaf, "localhost", 9, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(leaf, "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(leaf, "::1", 0), 1);
  EXPECT_EQ(X509_check_ca(leaf), 0);
  EXPECT_EQ(X509_check_purpose(leaf, X509_PURPOSE_SSL_SERVER, 0), 1);
  EXPECT_EQ(X509_get_key_usage(leaf), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_EQ(X509_get_extended_key_usage(leaf), static_cast<uint32_t>(XKU_SSL_SERVER));
  // 128 random bits with the sign bit clear: 16 bytes of DER INTEGER content.
  EXPECT_EQ(ASN1_STRING_length(X509_get_serialNumber(leaf)), 16);
}

TEST(DevCertificate, TwoGenerationsHaveDifferentSerialsAndKeys) {
  TempDir first_dir;
  TempDir second_dir;
  std::string error;
  const auto first = ensure_dev_certificate(first_dir.path(), kNow, error);
  const auto second = ensure_dev_certificate(second_dir.path(), kNow, error);
  ASSERT_TRUE(first && second) << error;
  const auto a = Credential::load(first->cert_path, first->key_path, kNow, error);
  const auto b = Credential::load(second->cert_path, second->key_path, kNow, error);
  ASSERT_TRUE(a && b) << error;
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get_serialNumber(a->leaf()),
                             X509_get_serialNumber(b->leaf())),
            0);
  EXPECT_EQ(EVP_PKEY_cmp(a->key(), b->key()), 0);
}

TEST(DevCertificate, IsReusedWhileMoreThanAWeekFromExpiry) {
  TempDir temp;
  std::string error;
  const auto first = ensure_dev_certificate(temp.path(), kNow, error);
  ASSERT_TRUE(first) << error;
  const std::string cert = read_all(first->cert_path);
  const std::string key = read_all(first->key_path);

  const int64_t later = kNow + 300 * kDay;  // 65 days left
  const auto second = ensure_dev_certificate(temp.path(), later, error);
  ASSERT_TRUE(second) << error;
  EXPECT_FALSE(second->generated);
  EXPECT_EQ(second->cert_path, first->cert_path);
  EXPECT_EQ(read_all(second->cert_path), cert);
  EXPECT_EQ(read_all(second->key_path), key);
}

TEST(DevCertificate, IsRegeneratedWithinAWeekOfExpiry) {
  TempDir temp;
  std::string error;
  const auto first = ensure_dev_certificate(temp.path(), kNow, error);
  ASSERT_TRUE(first) << error;
  const std::string old_cert = read_all(first->cert_path);
  const std::string old_key = read_all(first->key_path);

  const int64_t later = kNow + 360 * kDay;  // 4 days left
  const auto second = ensure_dev_certificate(temp.path(), later, error);
  ASSERT_TRUE(second) << error;
  EXPECT_TRUE(second->generated);
  EXPECT_NE(read_all(second->cert_path), old_cert);
  EXPECT_NE(read_all(second->key_path), old_key);
  EXPECT_EQ(mode_of(second->key_path), 0600u);
  const auto credential =
      Credential::load(second->cert_path, second->key_path, later, error);
  ASSERT_TRUE(credential) << error;
  EXPECT_EQ(credential->not_after_unix(), later - 3600 + 365 * kDay);
}

TEST(DevCertificate, IsRegeneratedWhenTheKeyFileNoLongerMatches) {
  TempDir temp;
  std::string error;
  const auto first = ensure_dev_certificate(temp.path(), kNow, error);
  ASSERT_TRUE(first) << error;
  auto other_key = ec_key(NID_X9_62_prime256v1);
  write_all(first->key_path, pem_of(other_key.get()));

  const auto second = ensure_dev_certificate(temp.path(), kNow, error);
  ASSERT_TRUE(second) << error;
  EXPECT_TRUE(second->generated);
  EXPECT_TRUE(Credential::load(second->cert_path, second->key_path, kNow, error))
      << error;
}

TEST(DevCertificate, UnwritableDirectoryIsAnErrorNamingIt) {
  TempDir temp;
  const std::string blocker = temp.file("file");
  write_all(blocker, "not a directory");
  std::string error;
  const auto dev = ensure_dev_certificate(blocker + "/certs", kNow, error);
  EXPECT_FALSE(dev);
  EXPECT_NE(error.find(blocker), std::string::npos) << error;
  EXPECT_NE(error.find(std::strerror(ENOTDIR)), std::string::npos) << error;
}

TEST(Credential, ChainFileLoadsIntermediatesInFileOrder) {
  auto root_key = ec_key(NID_X9_62_prime256v1);
  auto intermediate_key = ec_key(NID_X9_62_prime256v1);
  auto leaf_key = ec_key(NID_X9_62_prime256v1);
  auto root = make_cert({.common_name = "Test Root", .ca = true}, root_key.get());
  auto intermediate = make_cert({.common_name = "Test Intermediate", .ca = true},
                                intermediate_key.get(), root.get(), root_key.get());
  auto leaf = make_cert({.common_name = "www.example.com",
                         .alt_names = "DNS:www.example.com,DNS:example.com"},
                        leaf_key.get(), intermediate.get(), intermediate_key.get());

  std::string error;
  const auto credential =
      Credential::load_pem(pem_of(leaf.get()) + pem_of(intermediate.get()),
                           pem_of(leaf_key.get()), kNow, error);
  ASSERT_TRUE(credential) << error;
  ASSERT_EQ(credential->chain().size(), 1u);
  EXPECT_EQ(X509_cmp(credential->chain()[0], intermediate.get()), 0);
  EXPECT_EQ(X509_cmp(credential->leaf(), leaf.get()), 0);
  EXPECT_EQ(credential->names(),
            (std::vector<std::string>{"www.example.com", "example.com"}));

  const auto two = Credential::load_pem(
      pem_of(leaf.get()) + pem_of(intermediate.get()) + pem_of(root.get()),
      pem_of(leaf_key.get()), kNow, error);
  ASSERT_TRUE(two) << error;
  ASSERT_EQ(two->chain().size(), 2u);
  EXPECT_EQ(X509_cmp(two->chain()[0], intermediate.get()), 0);
  EXPECT_EQ(X509_cmp(two->chain()[1], root.get()), 0);
}

TEST(Credential, LoadsFromFilesAndCopiesShareTheObjects) {
  TempDir temp;
  auto key = ec_key(NID_secp384r1);
  const PemPair pem = self_signed(key.get(), {.common_name = "files.test"});
  write_all(temp.file("cert.pem"), pem.cert);
  write_all(temp.file("key.pem"), pem.key);
  std::string error;
  auto credential =
      Credential::load(temp.file("cert.pem"), temp.file("key.pem"), kNow, error);
  ASSERT_TRUE(credential) << error;
  EXPECT_TRUE(credential->is_ecdsa());
  EXPECT_TRUE(
      starts_with(credential->describe(), "ECDSA P-384, CN=files.test, expires "));

  Credential copy = *credential;
  EXPECT_EQ(copy.leaf(), credential->leaf());
  EXPECT_EQ(copy.key(), credential->key());
  credential.reset();  // the copy keeps its own references
  EXPECT_EQ(copy.names(), std::vector<std::string>{"files.test"});
  EXPECT_EQ(EVP_PKEY_bits(copy.key()), 384);
  Credential moved = std::move(copy);
  EXPECT_EQ(moved.names(), std::vector<std::string>{"files.test"});
}

TEST(Credential, Rsa2048KeyLoads) {
  auto key = rsa_key(2048);
  const PemPair pem = self_signed(key.get(), {.common_name = "rsa.test"});
  std::string error;
  const auto credential = Credential::load_pem(pem.cert, pem.key, kNow, error);
  ASSERT_TRUE(credential) << error;
  EXPECT_FALSE(credential->is_ecdsa());
  EXPECT_EQ(credential->describe(), "RSA 2048, CN=rsa.test, expires 2025-09-13");
}

TEST(Credential, TraditionalKeyFormatsLoad) {
  auto ec = ec_key(NID_X9_62_prime256v1);
  const PemPair pem = self_signed(ec.get(), {.common_name = "ec.test"});
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  ASSERT_TRUE(PEM_write_bio_ECPrivateKey(bio.get(), EVP_PKEY_get0_EC_KEY(ec.get()),
                                         nullptr, nullptr, 0, nullptr, nullptr));
  const uint8_t* data = nullptr;
  size_t length = 0;
  BIO_mem_contents(bio.get(), &data, &length);
  const std::string traditional(reinterpret_cast<const char*>(data), length);
  ASSERT_TRUE(starts_with(traditional, "-----BEGIN EC PRIVATE KEY-----"));
  std::string error;
  EXPECT_TRUE(Credential::load_pem(pem.cert, traditional, kNow, error)) << error;
}

TEST(Credential, Rsa1024KeyIsRefused) {
  TempDir temp;
  auto key = rsa_key(1024);
  const PemPair pem = self_signed(key.get(), {.common_name = "weak.test"});
  write_all(temp.file("cert.pem"), pem.cert);
  write_all(temp.file("key.pem"), pem.key);
  std::string error;
  EXPECT_FALSE(
      Credential::load(temp.file("cert.pem"), temp.file("key.pem"), kNow, error));
  EXPECT_EQ(error, temp.file("key.pem") +
                       ": unsupported key type: RSA 1024 bits (RSA keys need at "
                       "least 2048 bits)");
}

TEST(Credential, EcdsaOnP521IsRefused) {
  auto key = ec_key(NID_secp521r1);
  const PemPair pem = self_signed(key.get(), {.common_name = "p521.test"});
  std::string error;
  EXPECT_FALSE(Credential::load_pem(pem.cert, pem.key, kNow, error));
  EXPECT_NE(error.find("unsupported key type: ECDSA on curve secp521r1"),
            std::string::npos)
      << error;
}

TEST(Credential, KeyThatDoesNotMatchIsRefusedNamingTheKeyFile) {
  TempDir temp;
  auto key = ec_key(NID_X9_62_prime256v1);
  auto other = ec_key(NID_X9_62_prime256v1);
  const PemPair pem = self_signed(key.get(), {.common_name = "mismatch.test"});
  write_all(temp.file("cert.pem"), pem.cert);
  write_all(temp.file("other-key.pem"), pem_of(other.get()));
  std::string error;
  EXPECT_FALSE(
      Credential::load(temp.file("cert.pem"), temp.file("other-key.pem"), kNow, error));
  EXPECT_TRUE(starts_with(error, temp.file("other-key.pem") +
                                     ": private key does not match the certificate in " +
                                     temp.file("cert.pem")))
      << error;
  EXPECT_EQ(ERR_peek_error(), 0u) << "error queue left dirty";
}

TEST(Credential, MissingFileIsRefusedWithTheSystemError) {
  TempDir temp;
  auto key = ec_key(NID_X9_62_prime256v1);
  write_all(temp.file("key.pem"), pem_of(key.get()));
  std::string error;
  EXPECT_FALSE(
      Credential::load(temp.file("absent.pem"), temp.file("key.pem"), kNow, error));
  EXPECT_EQ(error, temp.file("absent.pem") + ": cannot open: " + std::strerror(ENOENT));
}

TEST(Credential, FileWithoutACertificateIsRefused) {
  auto key = ec_key(NID_X9_62_prime256v1);
  std::string error;
  EXPECT_FALSE(
      Credential::load_pem("hello, this is not PEM\n", pem_of(key.get()), kNow, error));
  EXPECT_EQ(error,
            "certificate PEM: no certificate (no -----BEGIN CERTIFICATE----- block)");
  // A key where the certificate should be: still no certificate.
  EXPECT_FALSE(Credential::load_pem(pem_of(key.get()), pem_of(key.get()), kNow, error));
  EXPECT_TRUE(starts_with(error, "certificate PEM: no certificate")) << error;
  EXPECT_EQ(ERR_peek_error(), 0u) << "error queue left dirty";
}

TEST(Credential, GarbageInsideAPemBlockIsRefused) {
  auto key = ec_key(NID_X9_62_prime256v1);
  const std::string garbage =
      "-----BEGIN CERTIFICATE-----\nTm90IGEgY2VydGlmaWNhdGU=\n-----END "
      "CERTIFICATE-----\n";
  std::string error;
  EXPECT_FALSE(Credential::load_pem(garbage, pem_of(key.get()), kNow, error));
  EXPECT_TRUE(starts_with(error, "certificate PEM: bad PEM certificate: ")) << error;

  const PemPair pem = self_signed(key.get(), {.common_name = "garbage.test"});
  EXPECT_FALSE(Credential::load_pem(pem.cert + garbage, pem.key, kNow, error));
  EXPECT_TRUE(
      starts_with(error, "certificate PEM: bad PEM in certificate 2 of the chain: "))
      << error;

  const std::string bad_key =
      "-----BEGIN PRIVATE KEY-----\nTm90IGEga2V5\n-----END PRIVATE KEY-----\n";
  EXPECT_FALSE(Credential::load_pem(pem.cert, bad_key, kNow, error));
  EXPECT_TRUE(starts_with(error, "private key PEM: bad PEM private key: ")) << error;
  EXPECT_FALSE(Credential::load_pem(pem.cert, pem.cert, kNow, error));
  EXPECT_TRUE(starts_with(error, "private key PEM: no private key")) << error;
  EXPECT_EQ(ERR_peek_error(), 0u) << "error queue left dirty";
}

TEST(Credential, EncryptedKeyIsRefused) {
  auto key = ec_key(NID_X9_62_prime256v1);
  const PemPair pem = self_signed(key.get(), {.common_name = "secret.test"});
  const std::string encrypted = pem_of(key.get(), EVP_aes_128_cbc(), "hunter2");
  std::string error;
  EXPECT_FALSE(Credential::load_pem(pem.cert, encrypted, kNow, error));
  EXPECT_EQ(error, "private key PEM: encrypted private keys are not supported");
}

TEST(Credential, ExpiredCertificateIsRefused) {
  auto key = ec_key(NID_X9_62_prime256v1);
  const int64_t not_after = 1'735'689'600;  // 2025-01-01T00:00:00Z
  const PemPair pem = self_signed(key.get(), {.common_name = "old.test",
                                              .not_before = not_after - 90 * kDay,
                                              .not_after = not_after});
  std::string error;
  EXPECT_FALSE(Credential::load_pem(pem.cert, pem.key, not_after + 1, error));
  EXPECT_EQ(error, "certificate PEM: certificate expired on 2025-01-01");
  // notAfter itself is still inside the validity period (RFC 5280 4.1.2.5).
  const auto last_second = Credential::load_pem(pem.cert, pem.key, not_after, error);
  ASSERT_TRUE(last_second) << error;
  EXPECT_EQ(last_second->not_after_unix(), not_after);
}

TEST(Credential, NamesAreDnsAlternativeNamesLowercasedWithoutIpAddresses) {
  auto key = ec_key(NID_X9_62_prime256v1);
  const PemPair pem = self_signed(
      key.get(), {.common_name = "Ignored.Example",
                  .alt_names = "DNS:WWW.Example.COM,IP:192.0.2.1,DNS:*.Example.com,"
                               "email:a@example.com,DNS:www.example.com"});
  std::string error;
  const auto credential = Credential::load_pem(pem.cert, pem.key, kNow, error);
  ASSERT_TRUE(credential) << error;
  EXPECT_EQ(credential->names(),
            (std::vector<std::string>{"www.example.com", "*.example.com"}));
}

TEST(Credential, NamesFallBackToTheCommonNameWithoutDnsAlternativeNames) {
  auto key = ec_key(NID_X9_62_prime256v1);
  const PemPair only_ip = self_signed(
      key.get(), {.common_name = "Legacy.Example.org", .alt_names = "IP:192.0.2.1"});
  std::string error;
  const auto credential = Credential::load_pem(only_ip.cert, only_ip.key, kNow, error);
  ASSERT_TRUE(credential) << error;
  EXPECT_EQ(credential->names(), std::vector<std::string>{"legacy.example.org"});

  const PemPair nameless = self_signed(key.get(), {});
  const auto anonymous = Credential::load_pem(nameless.cert, nameless.key, kNow, error);
  ASSERT_TRUE(anonymous) << error;
  EXPECT_TRUE(anonymous->names().empty());
  EXPECT_EQ(anonymous->describe(), "ECDSA P-256, expires 2025-09-13");
}

TEST(NameMatches, ExactAndWildcardRules) {
  struct Case {
    const char* pattern;
    const char* name;
    bool matches;
  };
  const Case cases[] = {
      {"example.com", "example.com", true},
      {"localhost", "localhost", true},
      {"example.com", "Example.COM", true},  // case never matters
      {"example.com", "www.example.com", false},
      {"www.example.com", "example.com", false},
      {"example.com", "ample.com", false},
      {"example.com", "example.co", false},
      {"example.com", "example.com.", false},
      {"*.example.com", "a.example.com", true},
      {"*.example.com", "www.example.com", true},
      {"*.example.com", "example.com", false},
      {"*.example.com", "a.b.example.com", false},
      {"*.example.com", ".example.com", false},
      {"*.example.com", "a.example.org", false},
      {"*.example.com", "a.notexample.com", false},
      {"*.example.com", "*.example.com", false},  // a host name has no "*"
      {"*", "localhost", false},
      {"*", "*", false},
      {"*.", "a.", false},
      {"*.com", "example.com", false},
      {"*example.com", "www.example.com", false},
      {"f*.example.com", "foo.example.com", false},
      {"www.*.com", "www.example.com", false},
      {"", "", false},
      {"example.com", "", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(name_matches(c.pattern, c.name), c.matches)
        << "pattern \"" << c.pattern << "\" name \"" << c.name << "\"";
  }
}

}  // namespace
}  // namespace ringshard::tls
