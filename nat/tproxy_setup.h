#pragma once
// Installs and removes everything the kernel needs for transparent interception: wardgate's nft
// table and its policy-routing rule and local route. The destructor removes what install() put in
// place, so every exit path of `wardgate run` cleans up; a kill -9 leaves state that the next
// install() replaces.
#include <string>

#include "nat/policy_routing.h"
#include "nat/tproxy_rules.h"

namespace wardgate::nat {

class TproxySetup {
 public:
  TproxySetup(TproxyRules rules, PolicyRoute route) : rules_(std::move(rules)), route_(route) {}
  ~TproxySetup() { remove(); }
  TproxySetup(const TproxySetup&) = delete;
  TproxySetup& operator=(const TproxySetup&) = delete;

  // Empty on success; on failure nothing stays installed.
  std::string install();
  // Empty on success; safe to call twice.
  std::string remove();

 private:
  TproxyRules rules_;
  PolicyRoute route_;
  bool installed_ = false;
};

}  // namespace wardgate::nat
