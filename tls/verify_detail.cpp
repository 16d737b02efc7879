#include "tls/verify_detail.h"

#include <openssl/x509.h>

#include <array>

namespace wardgate::tls {
namespace {

void free_note(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/,
               void* /*argp*/) {
  delete static_cast<std::string*>(ptr);
}

int note_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_note);
  return index;
}

}  // namespace

bool note_verify_detail(SSL* ssl, const std::string& text) {
  const int index = note_index();
  if (index < 0) return false;
  if (SSL_get_ex_data(ssl, index) != nullptr) return true;
  auto* note = new std::string(text);
  if (SSL_set_ex_data(ssl, index, note) != 1) {
    delete note;
    return false;
  }
  return true;
}

std::string verify_detail(const SSL* ssl) {
  const int index = note_index();
  if (ssl == nullptr || index < 0) return {};
  const auto* note = static_cast<const std::string*>(SSL_get_ex_data(ssl, index));
  return note != nullptr ? *note : std::string();
}

int note_verify_failure(int preverify_ok, X509_STORE_CTX* store) {
  if (preverify_ok == 1) return 1;
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  if (ssl == nullptr) return 0;
  std::string text = X509_verify_cert_error_string(X509_STORE_CTX_get_error(store));
  text += " (certificate at depth " + std::to_string(X509_STORE_CTX_get_error_depth(store));
  if (const X509* cert = X509_STORE_CTX_get_current_cert(store)) {
    std::array<char, 256> subject{};
    X509_NAME_oneline(X509_get_subject_name(cert), subject.data(), subject.size());
    text += std::string(", ") + subject.data();
  }
  text += ")";
  note_verify_detail(ssl, text);
  return 0;
}

}  // namespace wardgate::tls
