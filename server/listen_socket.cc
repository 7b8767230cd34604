#include "server/listen_socket.h"

namespace tiercache {

namespace net = boost::asio;
using tcp = net::ip::tcp;

Result<tcp::endpoint> ListenEndpoint(const std::string& host, uint16_t port,
                                     std::string_view what) {
  boost::system::error_code ec;
  const auto address = net::ip::make_address(host, ec);
  if (!ec) return tcp::endpoint(address, port);
  net::io_context io;
  tcp::resolver resolver(io);
  auto results = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
  if (ec || results.empty()) {
    return Status::Unavailable("cannot resolve " + std::string(what) + " listen host '" + host +
                               "': " + (ec ? ec.message() : "no address"));
  }
  return results.begin()->endpoint();
}

Status Listen(ListenAcceptor& acceptor, const tcp::endpoint& endpoint) {
  boost::system::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::Unavailable("cannot listen on " + endpoint.address().to_string() + ":" +
                               std::to_string(endpoint.port()) + ": " + ec.message());
  }
  return Status::Ok();
}

}  // namespace tiercache
