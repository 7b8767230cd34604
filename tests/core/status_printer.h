#pragma once

#include <catch2/catch.hpp>
#include <string>

#include "core/status.h"

// Lets Catch2 print StatusCode values by name in failed assertions.
namespace Catch {
template <>
struct StringMaker<tiercache::StatusCode> {
  static std::string convert(tiercache::StatusCode code) {
    return std::string(tiercache::StatusCodeName(code));
  }
};
}  // namespace Catch
