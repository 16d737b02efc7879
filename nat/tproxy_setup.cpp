#include "nat/tproxy_setup.h"

#include "nat/nft_runner.h"

namespace wardgate::nat {

std::string TproxySetup::install() {
  if (auto error = install_policy_route(route_); !error.empty()) return error;
  const NftResult nft = run_nft_script(render_install_script(rules_));
  if (!nft.ok) {
    remove_policy_route(route_);
    return "cannot install nftables table '" + rules_.table + "': " + nft.error;
  }
  installed_ = true;
  return {};
}

std::string TproxySetup::remove() {
  if (!installed_) return {};
  installed_ = false;
  std::string error;
  const NftResult nft = run_nft_script(render_remove_script(rules_.table));
  if (!nft.ok) error = "cannot remove nftables table '" + rules_.table + "': " + nft.error;
  if (auto e = remove_policy_route(route_); !e.empty()) error += (error.empty() ? "" : "; ") + e;
  return error;
}

}  // namespace wardgate::nat
