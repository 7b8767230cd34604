#pragma once

// Opening a listening socket, shared by the front ends built on Asio (HTTP, RESP). For
// their .cc files only: it brings Asio's headers.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace tiercache {

using ListenAcceptor = boost::asio::basic_socket_acceptor<boost::asio::ip::tcp,
                                                          boost::asio::io_context::executor_type>;

// The endpoint for `host` (a literal address, or a name such as "localhost" resolved to
// its first address) and `port`; kUnavailable naming `what` ("HTTP", "RESP") otherwise.
Result<boost::asio::ip::tcp::endpoint> ListenEndpoint(const std::string& host, uint16_t port,
                                                      std::string_view what);

// Opens `acceptor` on `endpoint` (address reuse on) and listens; kUnavailable naming the
// address otherwise.
Status Listen(ListenAcceptor& acceptor, const boost::asio::ip::tcp::endpoint& endpoint);

}  // namespace tiercache
