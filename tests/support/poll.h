#pragma once

#include <chrono>
#include <thread>

namespace tiercache::test {

// Polls `condition` every 20 ms until it holds or `bound` passes; its last value.
template <class Condition>
bool PollUntil(Condition condition, std::chrono::milliseconds bound) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

}  // namespace tiercache::test
