#pragma once

// The restart workload of the hot set tests (l1.hot_set): hot keys read twice, cold keys
// read once, so that a snapshot bounded to the hot count holds exactly the hot keys.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/http_client.h"

namespace tiercache::test {

inline std::string HotKey(int i) { return "hot:" + std::to_string(i); }
inline std::string ColdKey(int i) { return "cold:" + std::to_string(i); }
inline std::string ValueOf(const std::string& key) { return "value of " + key; }

// Stores `hot` hot and `cold` cold keys (bulk loads of 1,000), then reads each hot key
// twice and each cold key once.
inline void StoreAndReadHotAndCold(HttpClient& client, int hot, int cold) {
  nlohmann::json entries = nlohmann::json::array();
  const auto flush = [&] {
    if (entries.empty()) return;
    const std::string body = nlohmann::json{{"entries", entries}}.dump();
    REQUIRE(client.PostJson("/v1/warm", body).status == 200);
    entries = nlohmann::json::array();
  };
  const auto add = [&](const std::string& key) {
    entries.push_back({{"key", key}, {"value", ValueOf(key)}, {"ttl", 3600}});
    if (entries.size() == 1000) flush();
  };
  for (int i = 0; i < hot; ++i) add(HotKey(i));
  for (int i = 0; i < cold; ++i) add(ColdKey(i));
  flush();
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < hot; ++i) REQUIRE(client.Get("/v1/keys/" + HotKey(i)).status == 200);
  }
  for (int i = 0; i < cold; ++i) REQUIRE(client.Get("/v1/keys/" + ColdKey(i)).status == 200);
}

// Every hot key answers from L1 with its value.
inline void CheckHotKeysAnswerFromL1(HttpClient& client, int hot) {
  int from_l1 = 0;
  for (int i = 0; i < hot; ++i) {
    const HttpResponse r = client.Get("/v1/keys/" + HotKey(i));
    if (r.status == 200 && r.body == ValueOf(HotKey(i)) && r.Header("X-Cache-Tier") == "L1") {
      ++from_l1;
    } else {
      INFO("GET " << HotKey(i) << " answered " << r.status << " from "
                  << r.Header("X-Cache-Tier"));
      CHECK(false);
      break;
    }
  }
  CHECK(from_l1 == hot);
}

}  // namespace tiercache::test
