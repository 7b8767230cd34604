#pragma once

// Blocking calls into the asynchronous service facade, for tests: each waits (boundedly)
// for the operation's callback, wherever it runs.

#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <string_view>

#include "core/cache_service.h"

namespace tiercache::test {

template <class T, class Start>
T Await(Start start, std::chrono::seconds bound = std::chrono::seconds(30)) {
  auto answer = std::make_shared<std::promise<T>>();
  auto future = answer->get_future();
  start([answer](T value) { answer->set_value(std::move(value)); });
  if (future.wait_for(bound) != std::future_status::ready) {
    throw std::runtime_error("operation did not answer in time");
  }
  return future.get();
}

inline Result<Hit> SyncGet(CacheService& s, Frontend from, std::string_view key) {
  return Await<Result<Hit>>([&](auto done) { s.Get(from, key, std::move(done)); });
}
inline Status SyncSet(CacheService& s, Frontend from, SetRequest request) {
  return Await<Status>([&](auto done) { s.Set(from, std::move(request), std::move(done)); });
}
inline Status SyncDelete(CacheService& s, Frontend from, std::string_view key) {
  return Await<Status>([&](auto done) { s.Delete(from, key, std::move(done)); });
}
inline Result<InvalidateResult> SyncInvalidate(CacheService& s, Frontend from,
                                               const InvalidateRequest& request) {
  return Await<Result<InvalidateResult>>(
      [&](auto done) { s.Invalidate(from, request, std::move(done)); });
}
inline Result<int64_t> SyncIncrement(CacheService& s, Frontend from, std::string key,
                                     int64_t delta) {
  return Await<Result<int64_t>>(
      [&](auto done) { s.Increment(from, std::move(key), delta, std::move(done)); });
}
inline Status SyncUpdate(CacheService& s, Frontend from, std::string key, UpdateFn decide) {
  return Await<Status>(
      [&](auto done) { s.Update(from, std::move(key), std::move(decide), std::move(done)); });
}
inline Result<ClearResult> SyncClear(CacheService& s, Frontend from) {
  return Await<Result<ClearResult>>([&](auto done) { s.Clear(from, std::move(done)); });
}

}  // namespace tiercache::test
