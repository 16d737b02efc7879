#pragma once
// The files a TLS endpoint is made of, read afresh for each context so that replaced files take
// effect at the next connection without a restart, and a cheap way to notice they changed.
#include <string>

namespace wardgate::tls {

struct TlsFiles {
  std::string certificate;  // PEM, the certificate (chain) this end presents
  std::string private_key;  // PEM private key (never logged, never copied elsewhere)
  std::string ca_bundle;    // PEM CAs trusted for the peer's certificate
  std::string crl_file;     // optional PEM CRL(s) checked against the peer's certificate
};

// A fingerprint of the files' modification times, sizes and inodes: when it changes, contexts
// made from the files are out of date.
std::string files_signature(const TlsFiles& files);

}  // namespace wardgate::tls
