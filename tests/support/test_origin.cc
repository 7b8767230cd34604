#include "tests/support/test_origin.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <future>
#include <map>
#include <mutex>
#include <thread>

namespace tiercache::test {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct TestOrigin::Impl {
  struct Target {
    OriginAnswer reply{{404, "not found"}, {}, {}, {}};
    unsigned fail_remaining = 0;
    unsigned fail_status = 503;
    uint64_t requests = 0;
    http::request<http::string_body> last;
  };

  // One connection: read a request, wait its delay, answer, again until the client closes.
  struct Session : std::enable_shared_from_this<Session> {
    Session(Impl& o, tcp::socket s) : origin(o), stream(std::move(s)), timer(origin.ioc) {}

    void Read() {
      req = {};
      http::async_read(stream, buffer, req,
                       [self = shared_from_this()](beast::error_code ec, size_t) {
                         if (!ec) self->Answer();
                       });
    }

    void Answer() {
      OriginAnswer reply = origin.Record(req);
      if (!reply.raw.empty()) {
        raw = std::move(reply.raw);
        return net::async_write(stream, net::buffer(raw),
                                [self = shared_from_this()](beast::error_code, size_t) {
                                  beast::error_code ignored;
                                  self->stream.socket().shutdown(tcp::socket::shutdown_both,
                                                                 ignored);
                                });
      }
      for (const std::string& name : reply.echo) {
        auto field = req.find(name);
        reply.body += name + "=" + (field == req.end() ? "" : std::string(field->value())) + ";";
      }
      drop = reply.drop_after;
      res = {};
      res.version(11);
      res.result(reply.status);
      res.set(http::field::content_type, reply.content_type);
      for (const auto& [name, value] : reply.headers) res.insert(name, value);
      res.keep_alive(req.keep_alive());
      if (req.method() == http::verb::head) {
        res.content_length(reply.body.size());
      } else {
        res.body() = reply.body;
        if (reply.chunked) {
          res.chunked(true);
        } else {
          res.prepare_payload();
        }
      }
      if (reply.delay.count() == 0) return Write();
      timer.expires_after(reply.delay);
      timer.async_wait([self = shared_from_this()](beast::error_code ec) {
        if (!ec) self->Write();
      });
    }

    void Write() {
      http::async_write(stream, res, [self = shared_from_this()](beast::error_code ec, size_t) {
        if (ec) return;
        if (self->res.keep_alive() && !self->drop) return self->Read();
        beast::error_code ignored;
        self->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
      });
    }

    Impl& origin;
    beast::tcp_stream stream;
    net::steady_timer timer;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::response<http::string_body> res;
    std::string raw;
    bool drop = false;
  };

  Impl() : acceptor(ioc, tcp::endpoint(net::ip::make_address_v4("127.0.0.1"), 0)) {}

  void Accept() {
    // The handlers live in `ioc`, which the Impl owns and outlives: `this` stays valid.
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;
      {
        std::lock_guard lock(mu);
        ++connection_count;
      }
      auto session = std::make_shared<Session>(*this, std::move(socket));
      sessions.push_back(session);
      session->Read();
      Accept();
    });
  }

  OriginAnswer Record(const http::request<http::string_body>& req) {
    std::lock_guard lock(mu);
    Target& t = targets[std::string(req.target())];
    ++t.requests;
    t.last = req;
    if (t.fail_remaining > 0) {
      --t.fail_remaining;
      OriginAnswer failing;
      failing.status = t.fail_status;
      failing.body = "failing";
      return failing;
    }
    return t.reply;
  }

  net::io_context ioc{1};
  tcp::acceptor acceptor;
  std::thread thread;
  mutable std::mutex mu;
  std::map<std::string, Target, std::less<>> targets;  // guarded by mu
  uint64_t connection_count = 0;                        // guarded by mu
  std::vector<std::weak_ptr<Session>> sessions;         // I/O thread only
};

TestOrigin::TestOrigin() : impl_(std::make_unique<Impl>()) {
  impl_->Accept();
  impl_->thread = std::thread([impl = impl_.get()] { impl->ioc.run(); });
}

TestOrigin::~TestOrigin() {
  // As a stopped server: the port refuses connections and every open one is closed, so
  // that clients holding kept-alive connections see them end.
  std::promise<void> closed;
  net::post(impl_->ioc, [impl = impl_.get(), &closed] {
    beast::error_code ignored;
    impl->acceptor.close(ignored);
    for (auto& weak : impl->sessions) {
      if (auto session = weak.lock()) session->stream.socket().close(ignored);
    }
    closed.set_value();
  });
  closed.get_future().wait();
  impl_->ioc.stop();
  impl_->thread.join();
  // Sessions still waiting are owned by their queued handlers and go with the io_context.
}

uint16_t TestOrigin::port() const { return impl_->acceptor.local_endpoint().port(); }

std::string TestOrigin::base_url() const {
  return "http://127.0.0.1:" + std::to_string(port());
}

void TestOrigin::Serve(const std::string& target, OriginReply reply) {
  OriginAnswer answer;
  static_cast<OriginReply&>(answer) = std::move(reply);
  ServeAnswer(target, std::move(answer));
}

void TestOrigin::ServeAnswer(const std::string& target, OriginAnswer answer) {
  std::lock_guard lock(impl_->mu);
  impl_->targets[target].reply = std::move(answer);
}

void TestOrigin::FailFirst(const std::string& target, unsigned n, unsigned status) {
  std::lock_guard lock(impl_->mu);
  Impl::Target& t = impl_->targets[target];
  t.fail_remaining = n;
  t.fail_status = status;
}

uint64_t TestOrigin::requests(const std::string& target) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->targets.find(target);
  return it == impl_->targets.end() ? 0 : it->second.requests;
}

uint64_t TestOrigin::connections() const {
  std::lock_guard lock(impl_->mu);
  return impl_->connection_count;
}

std::string TestOrigin::last_method(const std::string& target) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->targets.find(target);
  if (it == impl_->targets.end() || it->second.requests == 0) return "";
  return std::string(it->second.last.method_string());
}

std::string TestOrigin::last_header(const std::string& target, std::string_view name) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->targets.find(target);
  if (it == impl_->targets.end()) return "";
  const auto& fields = it->second.last;
  auto field = fields.find(beast::string_view(name.data(), name.size()));
  return field == fields.end() ? "" : std::string(field->value());
}

}  // namespace tiercache::test
