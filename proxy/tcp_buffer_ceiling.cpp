#include "proxy/tcp_buffer_ceiling.h"

#include <fstream>

namespace wardgate::proxy {
namespace {

std::string raise(const std::string& sysctl, std::size_t bytes) {
  const std::string path = "/proc/sys/net/ipv4/" + sysctl;
  std::ifstream in(path);
  std::size_t min = 0;
  std::size_t def = 0;
  std::size_t max = 0;
  if (!(in >> min >> def >> max)) return "cannot read " + path + "; ";
  if (max >= bytes) return {};
  std::ofstream out(path);
  out << min << ' ' << def << ' ' << bytes << '\n';
  out.flush();
  if (!out) return "cannot raise " + path + " (is wardgate root?); ";
  return "net.ipv4." + sysctl + " maximum raised from " + std::to_string(max) + " to " +
         std::to_string(bytes) + "; ";
}

}  // namespace

std::string ensure_tcp_buffer_ceiling(std::size_t bytes) {
  std::string report = raise("tcp_rmem", bytes) + raise("tcp_wmem", bytes);
  if (report.size() >= 2) report.resize(report.size() - 2);
  return report;
}

}  // namespace wardgate::proxy
