#pragma once

// Small helpers shared by the end-to-end tests: reading the status document and JSON
// error bodies, and Catch2 printing of HTTP responses.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tests/support/daemon_process.h"
#include "tests/support/http_client.h"

namespace tiercache::test {

// GET /v1/status, parsed.
inline nlohmann::json StatusJson(HttpClient& client) {
  const HttpResponse r = client.Get("/v1/status");
  REQUIRE(r.status == 200);
  return nlohmann::json::parse(r.body);
}

// The L1 tier's object of the status document.
inline nlohmann::json L1Status(HttpClient& client) {
  const nlohmann::json doc = StatusJson(client);
  REQUIRE(doc.at("tiers").size() >= 1);
  REQUIRE(doc.at("tiers")[0].at("name") == "L1");
  return doc.at("tiers")[0];
}

inline uint64_t L1Entries(HttpClient& client) {
  return L1Status(client).at("entries").get<uint64_t>();
}

// True if `r` carries a JSON error body {"error": {"code": "...", "message": "..."}}
// with a non-empty code and message.
inline bool IsJsonError(const HttpResponse& r) {
  if (r.Header("Content-Type").rfind("application/json", 0) != 0) return false;
  const nlohmann::json doc = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("error")) return false;
  const nlohmann::json& error = doc["error"];
  return error.is_object() && error.contains("code") && error["code"].is_string() &&
         !error["code"].get<std::string>().empty() && error.contains("message") &&
         error["message"].is_string() && !error["message"].get<std::string>().empty();
}

inline std::string ErrorCode(const HttpResponse& r) {
  const nlohmann::json doc = nlohmann::json::parse(r.body, nullptr, false);
  if (!doc.is_object() || !doc.contains("error")) return "";
  return doc["error"].value("code", "");
}

// Makes a failing test show the daemon's stderr.
#define TIERCACHE_CAPTURE_DAEMON_LOG(daemon) INFO("daemon stderr:\n" << (daemon).Stderr())

}  // namespace tiercache::test

namespace Catch {
template <>
struct StringMaker<tiercache::test::HttpResponse> {
  static std::string convert(const tiercache::test::HttpResponse& r) {
    std::ostringstream out;
    out << "HTTP " << r.status;
    for (const auto& [name, value] : r.headers) out << "\n  " << name << ": " << value;
    out << "\n  body (" << r.body.size() << " bytes): " << r.body.substr(0, 300);
    return out.str();
  }
};
}  // namespace Catch
