#include "tests/support/cert_maker.hpp"

#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"

namespace modelgate::test_support {

namespace {

// Explicit config files, so the result does not depend on the system's openssl.cnf.
constexpr const char* ca_config = R"([req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = modelgate test CA
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
)";

constexpr const char* server_config = R"([req]
distinguished_name = dn
prompt = no
[dn]
CN = localhost
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
authorityKeyIdentifier = keyid
)";

constexpr const char* client_config = R"([req]
distinguished_name = dn
prompt = no
[dn]
CN = modelgate test client
[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
)";

void write_text(const std::filesystem::path& p, const char* text) {
  std::ofstream out(p, std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

void openssl(const std::filesystem::path& dir, std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  auto r = run_command(args, dir);
  if (r.exit_code != 0) {
    std::string cmd;
    for (const auto& a : args) cmd += a + " ";
    throw std::runtime_error("failed (" + std::to_string(r.exit_code) + "): " + cmd + "\n" + r.err +
                             r.out);
  }
}

}  // namespace

cert_files make_test_certs(const std::filesystem::path& dir, const std::string& prefix) {
  auto f = [&](const char* name) { return (dir / (prefix + name)).string(); };
  cert_files out{f("ca.crt"), f("ca.key"), f("server.crt"), f("server.key")};
  write_text(f("ca.cnf"), ca_config);
  write_text(f("server.cnf"), server_config);
  const std::vector<std::string> ec_key = {"-newkey", "ec", "-pkeyopt",
                                           "ec_paramgen_curve:prime256v1", "-nodes"};

  std::vector<std::string> ca = {"req",       "-x509",   "-days",     "1",    "-config",
                                 f("ca.cnf"), "-keyout", f("ca.key"), "-out", f("ca.crt")};
  ca.insert(ca.begin() + 2, ec_key.begin(), ec_key.end());
  openssl(dir, ca);

  std::vector<std::string> csr = {"req",           "-config", f("server.cnf"), "-keyout",
                                  f("server.key"), "-out",    f("server.csr")};
  csr.insert(csr.begin() + 1, ec_key.begin(), ec_key.end());
  openssl(dir, csr);

  openssl(dir, {"x509", "-req", "-in", f("server.csr"), "-CA", f("ca.crt"), "-CAkey", f("ca.key"),
                "-set_serial", "2", "-days", "1", "-extfile", f("server.cnf"), "-extensions",
                "server_ext", "-out", f("server.crt")});
  return out;
}

client_cert_files make_client_cert(const std::filesystem::path& dir, const cert_files& ca,
                                   const std::string& name) {
  auto f = [&](const char* ext) { return (dir / (name + ext)).string(); };
  client_cert_files out{f(".crt"), f(".key")};
  write_text(f(".cnf"), client_config);
  openssl(dir, {"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-config", f(".cnf"), "-subj", "/CN=" + name, "-keyout", f(".key"), "-out",
                f(".csr")});
  openssl(dir, {"x509", "-req", "-in", f(".csr"), "-CA", ca.ca_cert.string(), "-CAkey",
                ca.ca_key.string(), "-set_serial", "3", "-days", "1", "-extfile", f(".cnf"),
                "-extensions", "client_ext", "-out", f(".crt")});
  return out;
}

}  // namespace modelgate::test_support
