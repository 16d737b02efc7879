#include "nat/policy_routing.h"

#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>
#include <sys/socket.h>
#include <memory>

#include "nat/route_socket.h"

namespace wardgate::nat {
namespace {

// Bounded: a crashed run leaves at most a few copies; more than this means something else
// keeps adding the rule, and we stop rather than loop.
constexpr int kMaxStaleRules = 64;

using Socket = RouteSocket;
using Rule = std::unique_ptr<rtnl_rule, decltype(&rtnl_rule_put)>;
using Route = std::unique_ptr<rtnl_route, decltype(&rtnl_route_put)>;

Rule make_rule(const PolicyRoute& r) {
  Rule rule(rtnl_rule_alloc(), &rtnl_rule_put);
  rtnl_rule_set_family(rule.get(), AF_INET);
  rtnl_rule_set_mark(rule.get(), r.fwmark);
  rtnl_rule_set_mask(rule.get(), 0xffffffffU);
  rtnl_rule_set_table(rule.get(), r.table);
  rtnl_rule_set_action(rule.get(), FR_ACT_TO_TBL);
  rtnl_rule_set_prio(rule.get(), r.priority);
  return rule;
}

Route make_local_route(const PolicyRoute& r, std::string& error) {
  Route route(rtnl_route_alloc(), &rtnl_route_put);
  rtnl_route_set_family(route.get(), AF_INET);
  rtnl_route_set_type(route.get(), RTN_LOCAL);
  rtnl_route_set_table(route.get(), r.table);
  rtnl_route_set_scope(route.get(), RT_SCOPE_HOST);
  rtnl_route_set_protocol(route.get(), RTPROT_STATIC);
  nl_addr* dst = nullptr;
  if (nl_addr_parse("0.0.0.0/0", AF_INET, &dst) < 0) {
    error = "cannot build the default destination";
    route.reset();
    return route;
  }
  rtnl_route_set_dst(route.get(), dst);
  nl_addr_put(dst);
  const unsigned lo = if_nametoindex("lo");
  if (lo == 0) {
    error = "no loopback interface in this network namespace";
    route.reset();
    return route;
  }
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  rtnl_route_nh_set_ifindex(nh, static_cast<int>(lo));
  rtnl_route_add_nexthop(route.get(), nh);  // the route owns nh now
  return route;
}

// Deletes every copy of the rule; returns how many were removed.
int delete_rules(nl_sock* sock, const PolicyRoute& r) {
  int removed = 0;
  while (removed < kMaxStaleRules) {
    Rule rule = make_rule(r);
    if (rtnl_rule_delete(sock, rule.get(), 0) < 0) break;
    ++removed;
  }
  return removed;
}

}  // namespace

std::string install_policy_route(const PolicyRoute& r) {
  std::string error;
  Socket sock = connect_route_socket(error);
  if (!sock) return error;
  delete_rules(sock.get(), r);
  Rule rule = make_rule(r);
  if (const int rc = rtnl_rule_add(sock.get(), rule.get(), NLM_F_CREATE | NLM_F_EXCL); rc < 0) {
    return "cannot add policy rule fwmark " + std::to_string(r.fwmark) + " lookup " +
           std::to_string(r.table) + ": " + nl_geterror(rc);
  }
  Route route = make_local_route(r, error);
  if (!route) return error;
  if (const int rc = rtnl_route_add(sock.get(), route.get(), NLM_F_CREATE | NLM_F_REPLACE);
      rc < 0) {
    delete_rules(sock.get(), r);
    return "cannot add local route 0.0.0.0/0 dev lo table " + std::to_string(r.table) + ": " +
           nl_geterror(rc);
  }
  return {};
}

std::string remove_policy_route(const PolicyRoute& r) {
  std::string error;
  Socket sock = connect_route_socket(error);
  if (!sock) return error;
  delete_rules(sock.get(), r);
  Route route = make_local_route(r, error);
  if (!route) return error;
  if (const int rc = rtnl_route_delete(sock.get(), route.get(), 0);
      rc < 0 && rc != -NLE_OBJ_NOTFOUND) {
    return "cannot remove local route table " + std::to_string(r.table) + ": " + nl_geterror(rc);
  }
  return {};
}

bool policy_route_present(const PolicyRoute& r) {
  std::string error;
  Socket sock = connect_route_socket(error);
  if (!sock) return false;
  nl_cache* cache = nullptr;
  if (rtnl_rule_alloc_cache(sock.get(), AF_INET, &cache) < 0) return false;
  bool found = false;
  for (nl_object* o = nl_cache_get_first(cache); o != nullptr; o = nl_cache_get_next(o)) {
    auto* rule = reinterpret_cast<rtnl_rule*>(o);
    if (rtnl_rule_get_mark(rule) == r.fwmark && rtnl_rule_get_table(rule) == r.table) found = true;
  }
  nl_cache_free(cache);
  return found;
}

}  // namespace wardgate::nat
