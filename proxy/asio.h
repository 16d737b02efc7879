#pragma once
// One place to include Boost.Asio: g++ 12 needs <utility> before Asio's coroutine headers
// (DESIGN.md, conventions), and every proxy file uses the same short names.
#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

namespace wardgate::proxy {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
}  // namespace wardgate::proxy
