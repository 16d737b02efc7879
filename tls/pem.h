#pragma once
// Reading PEM certificates with OpenSSL, owned by unique_ptr.
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

namespace wardgate::tls {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

// Every certificate in the PEM file at `path` (at most 1000), in file order; empty if none or
// unreadable.
std::vector<X509Ptr> read_certificates(const std::string& path);

}  // namespace wardgate::tls
