#include "nat/route_socket.h"

#include <netlink/errno.h>

namespace wardgate::nat {

RouteSocket connect_route_socket(std::string& error) {
  RouteSocket sock(nl_socket_alloc(), &nl_socket_free);
  if (!sock) {
    error = "cannot allocate a netlink socket";
  } else if (const int rc = nl_connect(sock.get(), NETLINK_ROUTE); rc < 0) {
    error = std::string("cannot open rtnetlink: ") + nl_geterror(rc);
    sock.reset();
  }
  return sock;
}

}  // namespace wardgate::nat
