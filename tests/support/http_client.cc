#include "tests/support/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <limits>
#include <optional>

namespace tiercache::test {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string HttpResponse::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (EqualsIgnoreCase(n, name)) return v;
  }
  return "";
}

bool HttpResponse::HasHeader(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (EqualsIgnoreCase(n, name)) return true;
  }
  return false;
}

bool IsTimeout(std::error_code error) {
  // Boost's codes reach us converted to std::error_code: compare the category by name.
  const beast::error_code timeout = beast::error::timeout;
  return error.value() == timeout.value() &&
         std::string_view(error.category().name()) == timeout.category().name();
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
    }
  }
  return out;
}

struct HttpClient::Impl {
  Impl(uint16_t p, std::chrono::milliseconds t) : port(p), timeout(t) {}

  // Runs one asynchronous operation to completion on this client's io_context, bounded
  // by the timeout (tcp_stream closes the socket when it expires).
  template <class Start>
  beast::error_code Run(Start&& start) {
    beast::error_code result = net::error::would_block;
    stream.expires_after(timeout);
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
  }

  beast::error_code Connect() {
    Close();
    // A failed connect leaves the socket open; start from a fresh one.
    beast::error_code close_ec;
    stream.socket().close(close_ec);
    buffer.clear();
    const tcp::endpoint endpoint(net::ip::make_address_v4("127.0.0.1"), port);
    beast::error_code ec =
        Run([&](auto handler) { stream.async_connect(endpoint, std::move(handler)); });
    if (!ec) {
      open = true;
      ++connections;
      beast::error_code opt_ec;
      stream.socket().set_option(tcp::no_delay(true), opt_ec);
    }
    return ec;
  }

  void Close() {
    if (!open) return;
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream.socket().close(ec);
    open = false;
  }

  // Reads one response; `head` if it answers a HEAD request (no body follows).
  HttpOutcome ReadResponse(bool head) {
    HttpOutcome outcome;
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::numeric_limits<uint64_t>::max());
    parser.header_limit(64 * 1024);
    parser.skip(head);
    const beast::error_code ec =
        Run([&](auto handler) { http::async_read(stream, buffer, parser, std::move(handler)); });
    outcome.got_response_bytes = parser.got_some();
    if (ec) {
      outcome.error = ec;
      Close();
      return outcome;
    }
    http::response<http::string_body> res = parser.release();
    outcome.response.status = res.result_int();
    for (const auto& field : res) {
      outcome.response.headers.emplace_back(std::string(field.name_string()),
                                            std::string(field.value()));
    }
    outcome.response.body = std::move(res.body());
    outcome.response.keep_alive = res.keep_alive();
    if (!outcome.response.keep_alive) Close();
    return outcome;
  }

  HttpOutcome Exchange(std::string_view method, std::string_view target, std::string_view body,
                       const Headers& headers) {
    if (!open) {
      if (beast::error_code ec = Connect()) return HttpOutcome{ec, false, {}};
    }
    http::request<http::string_body> req;
    req.version(11);
    const beast::string_view method_text(method.data(), method.size());
    const http::verb verb = http::string_to_verb(method_text);
    if (verb == http::verb::unknown) {
      req.method_string(method_text);
    } else {
      req.method(verb);
    }
    req.target(beast::string_view(target.data(), target.size()));
    req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
    for (const auto& [name, value] : headers) req.set(name, value);
    req.body().assign(body.data(), body.size());
    req.prepare_payload();
    const beast::error_code ec =
        Run([&](auto handler) { http::async_write(stream, req, std::move(handler)); });
    if (ec) {
      // The server may have answered and closed before reading the whole request (a body
      // over its limit): read what it sent.
      HttpOutcome outcome = ReadResponse(verb == http::verb::head);
      if (outcome.ok()) return outcome;
      Close();
      return HttpOutcome{ec, outcome.got_response_bytes, {}};
    }
    return ReadResponse(verb == http::verb::head);
  }

  HttpOutcome Raw(std::string_view bytes) {
    if (!open) {
      if (beast::error_code ec = Connect()) return HttpOutcome{ec, false, {}};
    }
    const beast::error_code ec = Run([&](auto handler) {
      net::async_write(stream, net::buffer(bytes.data(), bytes.size()), std::move(handler));
    });
    if (ec) {
      Close();
      return HttpOutcome{ec, false, {}};
    }
    return ReadResponse(false);
  }

  const uint16_t port;
  const std::chrono::milliseconds timeout;
  net::io_context ioc{1};
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  bool open = false;
  uint64_t connections = 0;
};

HttpClient::HttpClient(uint16_t port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>(port, timeout)) {}

HttpClient::~HttpClient() { impl_->Close(); }

HttpResponse HttpClient::Request(std::string_view method, std::string_view target,
                                 std::string_view body, const Headers& headers) {
  HttpOutcome outcome = TryRequest(method, target, body, headers);
  if (!outcome.ok()) {
    throw HttpError("HTTP " + std::string(method) + " " + std::string(target) + " on port " +
                        std::to_string(impl_->port) + ": " + outcome.error.message(),
                    outcome.error);
  }
  return std::move(outcome.response);
}

HttpOutcome HttpClient::TryRequest(std::string_view method, std::string_view target,
                                   std::string_view body, const Headers& headers) {
  return impl_->Exchange(method, target, body, headers);
}

HttpOutcome HttpClient::TryRaw(std::string_view bytes) { return impl_->Raw(bytes); }

void HttpClient::Connect() {
  if (std::error_code ec = TryConnect()) {
    throw HttpError("connect to 127.0.0.1:" + std::to_string(impl_->port) + ": " + ec.message(),
                    ec);
  }
}

std::error_code HttpClient::TryConnect() { return impl_->Connect(); }

void HttpClient::Close() { impl_->Close(); }

bool HttpClient::connected() const { return impl_->open; }

uint64_t HttpClient::connections_opened() const { return impl_->connections; }

std::error_code HttpClient::WaitForClose(std::chrono::milliseconds timeout, std::string* received) {
  if (!impl_->open) return beast::error_code(net::error::not_connected);
  if (received && impl_->buffer.size() > 0) {
    received->append(beast::buffers_to_string(impl_->buffer.data()));
  }
  impl_->buffer.clear();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char chunk[4096];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left <= std::chrono::milliseconds::zero()) {
      impl_->Close();
      return beast::error_code(beast::error::timeout);
    }
    size_t got = 0;
    beast::error_code result = net::error::would_block;
    impl_->stream.expires_after(left);
    impl_->stream.async_read_some(net::buffer(chunk), [&](beast::error_code ec, size_t n) {
      result = ec;
      got = n;
    });
    impl_->ioc.restart();
    impl_->ioc.run();
    if (received) received->append(chunk, got);
    if (result) {
      impl_->Close();
      return result;
    }
  }
}

}  // namespace tiercache::test
