#include "proxy/transparent_socket.h"

#include <sys/socket.h>

#include "proxy/socket_options.h"

namespace wardgate::proxy {
namespace {

void check(const std::error_code& ec, const char* what) {
  if (ec) throw boost::system::system_error(ec.value(), boost::system::generic_category(), what);
}

}  // namespace

tcp::acceptor open_listener(asio::io_context& io, const tcp::endpoint& at, bool transparent,
                            int backlog) {
  tcp::acceptor acceptor(io);
  acceptor.open(at.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  // One listener per worker thread on the same port; the kernel spreads connections among them.
  const int one = 1;
  if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    check({errno, std::generic_category()}, "setsockopt(SO_REUSEPORT)");
  }
  if (transparent) check(set_transparent(acceptor.native_handle()), "setsockopt(IP_TRANSPARENT)");
  acceptor.bind(at);
  acceptor.listen(backlog);
  return acceptor;
}

boost::system::error_code open_upstream(tcp::socket& socket, const asio::ip::address_v4& source,
                                        bool transparent) {
  boost::system::error_code ec;
  socket.open(tcp::v4(), ec);
  if (ec || !transparent) return ec;
  if (auto e = set_transparent(socket.native_handle()))
    return {e.value(), boost::system::generic_category()};
  if (auto e = set_bind_address_no_port(socket.native_handle())) {
    return {e.value(), boost::system::generic_category()};
  }
  socket.bind(tcp::endpoint(source, 0), ec);
  return ec;
}

}  // namespace wardgate::proxy
