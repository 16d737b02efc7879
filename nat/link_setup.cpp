#include "nat/link_setup.h"

#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <sys/socket.h>

#include <memory>

#include "nat/route_socket.h"

namespace wardgate::nat {
namespace {

using Socket = RouteSocket;
using Link = std::unique_ptr<rtnl_link, decltype(&rtnl_link_put)>;
using Addr = std::unique_ptr<rtnl_addr, decltype(&rtnl_addr_put)>;
using Route = std::unique_ptr<rtnl_route, decltype(&rtnl_route_put)>;
using NlAddr = std::unique_ptr<nl_addr, decltype(&nl_addr_put)>;

NlAddr parse_prefix(const std::string& text, std::string& error) {
  nl_addr* a = nullptr;
  if (nl_addr_parse(text.c_str(), AF_UNSPEC, &a) < 0) {
    error = "\"" + text + "\" is not an address prefix";
    return {nullptr, &nl_addr_put};
  }
  return {a, &nl_addr_put};
}

Route make_route(int ifindex, nl_addr* dst) {
  Route route(rtnl_route_alloc(), &rtnl_route_put);
  rtnl_route_set_family(route.get(), nl_addr_get_family(dst));
  rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
  rtnl_route_set_scope(route.get(), RT_SCOPE_LINK);
  rtnl_route_set_protocol(route.get(), RTPROT_STATIC);
  rtnl_route_set_dst(route.get(), dst);
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  rtnl_route_nh_set_ifindex(nh, ifindex);
  rtnl_route_add_nexthop(route.get(), nh);  // the route owns nh now
  return route;
}

}  // namespace

std::string configure_link(const LinkSetup& s) {
  std::string error;
  Socket sock = connect_route_socket(error);
  if (!sock) return error;
  rtnl_link* raw = nullptr;
  if (const int rc = rtnl_link_get_kernel(sock.get(), 0, s.interface.c_str(), &raw); rc < 0)
    return "interface " + s.interface + ": " + nl_geterror(rc);
  Link current(raw, &rtnl_link_put);
  const int ifindex = rtnl_link_get_ifindex(current.get());

  Link change(rtnl_link_alloc(), &rtnl_link_put);
  rtnl_link_set_mtu(change.get(), s.mtu);
  if (s.txqueuelen != 0) rtnl_link_set_txqlen(change.get(), s.txqueuelen);
  rtnl_link_set_flags(change.get(), IFF_UP);
  if (const int rc = rtnl_link_change(sock.get(), current.get(), change.get(), 0); rc < 0)
    return "cannot set MTU " + std::to_string(s.mtu) + " and bring " + s.interface +
           " up: " + nl_geterror(rc);

  for (const auto& text : s.addresses) {
    NlAddr local = parse_prefix(text, error);
    if (!local) return error;
    Addr addr(rtnl_addr_alloc(), &rtnl_addr_put);
    rtnl_addr_set_ifindex(addr.get(), ifindex);
    rtnl_addr_set_family(addr.get(), nl_addr_get_family(local.get()));
    rtnl_addr_set_local(addr.get(), local.get());
    if (const int rc = rtnl_addr_add(sock.get(), addr.get(), NLM_F_REPLACE);
        rc < 0 && rc != -NLE_EXIST)
      return "cannot add address " + text + " to " + s.interface + ": " + nl_geterror(rc);
  }
  for (const auto& text : s.routes) {
    NlAddr dst = parse_prefix(text, error);
    if (!dst) return error;
    Route route = make_route(ifindex, dst.get());
    if (const int rc = rtnl_route_add(sock.get(), route.get(), NLM_F_CREATE | NLM_F_REPLACE);
        rc < 0)
      return "cannot route " + text + " into " + s.interface + ": " + nl_geterror(rc);
  }
  return {};
}

std::string remove_link_routes(const LinkSetup& s) {
  std::string error;
  Socket sock = connect_route_socket(error);
  if (!sock) return error;
  const unsigned ifindex = if_nametoindex(s.interface.c_str());
  if (ifindex == 0) return {};  // the interface and its routes are gone already
  for (const auto& text : s.routes) {
    NlAddr dst = parse_prefix(text, error);
    if (!dst) return error;
    Route route = make_route(static_cast<int>(ifindex), dst.get());
    if (const int rc = rtnl_route_delete(sock.get(), route.get(), 0);
        rc < 0 && rc != -NLE_OBJ_NOTFOUND)
      return "cannot remove route " + text + ": " + nl_geterror(rc);
  }
  return {};
}

}  // namespace wardgate::nat
