#pragma once

// What the folder's HTTP clients (the http warming source, the proxy's origin pool) share:
// the Beast and Asio names they are written in, on an io_context run by one thread, and
// how their messages name a timeout. Included by their .cc files only.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <string>

#include "core/clock.h"

namespace tiercache::http_client {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

using Executor = net::io_context::executor_type;
using Stream = beast::basic_stream<tcp, Executor, beast::unlimited_rate_policy>;
using Resolver = net::ip::basic_resolver<tcp, Executor>;

// "10s", "0.25s": a timeout as the messages that name it write it.
inline std::string SecondsText(Duration d) {
  std::string text = std::to_string(ToSeconds(d));
  text.erase(text.find_last_not_of('0') + 1);
  if (text.back() == '.') text.pop_back();
  return text + "s";
}

}  // namespace tiercache::http_client
