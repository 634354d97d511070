#include "tests/support/ports.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace modelgate::test_support {

std::uint16_t unused_port() {
  namespace asio = boost::asio;
  asio::io_context ioc;
  asio::ip::tcp::acceptor a(ioc, {asio::ip::make_address_v4("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

}  // namespace modelgate::test_support
