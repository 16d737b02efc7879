#include "tls/tls_files.h"

#include <sys/stat.h>

namespace wardgate::tls {

std::string files_signature(const TlsFiles& files) {
  std::string out;
  for (const std::string* p :
       {&files.certificate, &files.private_key, &files.ca_bundle, &files.crl_file}) {
    struct stat st {};
    if (p->empty() || stat(p->c_str(), &st) != 0) {
      out += "-;";
      continue;
    }
    out += std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "/" +
           std::to_string(st.st_size) + "/" + std::to_string(st.st_ino) + ";";
  }
  return out;
}

}  // namespace wardgate::tls
