#include "command.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <iostream>

namespace tierctl {

std::unique_ptr<Client> MakeClient(const GlobalOptions& global) {
  const auto timeout = std::chrono::milliseconds(
      static_cast<int64_t>(std::llround(global.timeout_seconds * 1000.0)));
  return std::make_unique<Client>(global.server, timeout, global.ns);
}

int ReportFailure(const Client& client, std::string_view rpc, const CallStatus& status) {
  if (status.unreachable) {
    std::cerr << "tierctl: cannot reach tiercached at " << client.target() << " ("
              << status.code_name << ": " << status.message
              << "); is it running and is --server its gRPC address?\n";
    return kExitUnreachable;
  }
  if (status.unimplemented()) {
    std::cerr << "tierctl: UNIMPLEMENTED: the server at " << client.target()
              << " does not implement " << rpc << " (it is older than this tierctl)";
    if (!status.message.empty()) std::cerr << ": " << status.message;
    std::cerr << "\n";
    return kExitServerError;
  }
  std::cerr << "tierctl: " << status.code_name << ": " << status.message << "\n";
  return kExitServerError;
}

void PrintJson(const nlohmann::json& doc) {
  std::cout << doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

nlohmann::json BytesToJson(const std::string& bytes) {
  try {
    (void)nlohmann::json(bytes).dump();
    return bytes;
  } catch (const nlohmann::json::type_error&) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
      const uint32_t n = (static_cast<uint8_t>(bytes[i]) << 16) |
                         (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                         static_cast<uint8_t>(bytes[i + 2]);
      for (int shift : {18, 12, 6, 0}) out.push_back(kAlphabet[(n >> shift) & 63]);
    }
    if (i < bytes.size()) {
      uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
      if (i + 1 < bytes.size()) n |= static_cast<uint8_t>(bytes[i + 1]) << 8;
      out.push_back(kAlphabet[(n >> 18) & 63]);
      out.push_back(kAlphabet[(n >> 12) & 63]);
      out.push_back(i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=');
      out.push_back('=');
    }
    return {{"base64", out}};
  }
}

std::string FormatTierRemovals(
    const google::protobuf::RepeatedPtrField<tiercache::v1::TierRemoval>& tiers) {
  std::string out;
  for (const auto& t : tiers) {
    if (!out.empty()) out += ", ";
    out += t.tier() + " ";
    out += t.error().empty() ? std::to_string(t.removed()) : "error: " + t.error();
  }
  return out;
}

nlohmann::json TierRemovalsToJson(
    const google::protobuf::RepeatedPtrField<tiercache::v1::TierRemoval>& tiers) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& t : tiers) {
    if (t.error().empty()) {
      out[t.tier()] = t.removed();
    } else {
      out[t.tier()] = {{"removed", t.removed()}, {"error", t.error()}};
    }
  }
  return out;
}

void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string LocalTime(int64_t unix_ms) {
  const time_t seconds = static_cast<time_t>(unix_ms / 1000);
  struct tm local {};
  localtime_r(&seconds, &local);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &local);
  return buf;
}

std::string DueIn(int64_t due_unix_ms, int64_t now_unix_ms) {
  const int64_t seconds =
      static_cast<int64_t>(std::llround(static_cast<double>(due_unix_ms - now_unix_ms) / 1000.0));
  if (seconds < 0) return "overdue " + std::to_string(-seconds) + "s";
  return "in " + std::to_string(seconds) + "s";
}

}  // namespace tierctl
