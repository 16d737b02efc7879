#include "tls/ocsp_staple.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>

#include <memory>
#include <string>

#include "tls/verify_detail.h"

namespace wardgate::tls {
namespace {

struct OcspFree {
  void operator()(OCSP_RESPONSE* r) const { OCSP_RESPONSE_free(r); }
  void operator()(OCSP_BASICRESP* b) const { OCSP_BASICRESP_free(b); }
  void operator()(OCSP_CERTID* id) const { OCSP_CERTID_free(id); }
};
template <typename T>
using OcspPtr = std::unique_ptr<T, OcspFree>;

// Clock skew allowed on thisUpdate/nextUpdate, as `openssl ocsp` allows by default.
constexpr long kValiditySkewSeconds = 300;

int refuse(SSL* ssl, long verify_result, const std::string& why) {
  // OCSP's own errors would come first in the queue and hide the handshake's reason
  // (SSL_R_INVALID_STATUS_RESPONSE) from the classification.
  ERR_clear_error();
  SSL_set_verify_result(ssl, verify_result);
  note_verify_detail(ssl, "stapled OCSP response: " + why);
  return 0;
}

}  // namespace

int check_ocsp_staple(SSL* ssl, void* /*arg*/) {
  unsigned char* der = nullptr;
  // SSL_get_tlsext_status_ocsp_resp without its C cast.
  const long length = SSL_ctrl(ssl, SSL_CTRL_GET_TLSEXT_STATUS_REQ_OCSP_RESP, 0, &der);
  if (der == nullptr || length <= 0) return 1;
  const unsigned char* p = der;
  const OcspPtr<OCSP_RESPONSE> response(d2i_OCSP_RESPONSE(nullptr, &p, length));
  if (!response) return refuse(ssl, X509_V_ERR_OCSP_VERIFY_FAILED, "not a DER OCSP response");
  const int status = OCSP_response_status(response.get());
  if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    return refuse(ssl, X509_V_ERR_OCSP_VERIFY_FAILED,
                  std::string("responder status ") + OCSP_response_status_str(status));
  }
  const OcspPtr<OCSP_BASICRESP> basic(OCSP_response_get1_basic(response.get()));
  if (!basic) return refuse(ssl, X509_V_ERR_OCSP_VERIFY_FAILED, "no basic response");
  // The responder must chain to our CA bundle (with its CRLs) and be the issuer or its
  // delegate; the collector's chain may carry the issuer.
  X509_STORE* store = SSL_CTX_get_cert_store(SSL_get_SSL_CTX(ssl));
  if (OCSP_basic_verify(basic.get(), SSL_get_peer_cert_chain(ssl), store, 0) <= 0) {
    return refuse(ssl, X509_V_ERR_OCSP_VERIFY_FAILED, "signature or signer not trusted");
  }
  STACK_OF(X509)* chain = SSL_get0_verified_chain(ssl);
  if (chain == nullptr || sk_X509_num(chain) < 2) {
    return refuse(ssl, X509_V_ERR_OCSP_VERIFY_FAILED, "no issuer to identify the certificate");
  }
  const OcspPtr<OCSP_CERTID> id(
      OCSP_cert_to_id(nullptr, sk_X509_value(chain, 0), sk_X509_value(chain, 1)));
  int cert_status = -1;
  int reason = -1;
  ASN1_GENERALIZEDTIME* revoked_at = nullptr;
  ASN1_GENERALIZEDTIME* this_update = nullptr;
  ASN1_GENERALIZEDTIME* next_update = nullptr;
  if (!id || OCSP_resp_find_status(basic.get(), id.get(), &cert_status, &reason, &revoked_at,
                                   &this_update, &next_update) != 1) {
    return refuse(ssl, X509_V_ERR_OCSP_CERT_UNKNOWN, "says nothing about this certificate");
  }
  if (OCSP_check_validity(this_update, next_update, kValiditySkewSeconds, -1) != 1) {
    return refuse(ssl, X509_V_ERR_OCSP_VERIFY_FAILED, "outside its validity period");
  }
  if (cert_status == V_OCSP_CERTSTATUS_REVOKED) {
    return refuse(ssl, X509_V_ERR_CERT_REVOKED,
                  std::string("certificate revoked (") + OCSP_crl_reason_str(reason) + ")");
  }
  if (cert_status != V_OCSP_CERTSTATUS_GOOD) {
    return refuse(ssl, X509_V_ERR_OCSP_CERT_UNKNOWN, "certificate status unknown");
  }
  return 1;
}

}  // namespace wardgate::tls
