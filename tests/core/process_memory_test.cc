// Unit tests of reading the process's resident memory for the dashboard.

#include "core/process_memory.h"

#include <catch2/catch.hpp>

#include "tests/core/status_printer.h"

namespace tiercache {
namespace {

TEST_CASE("ProcessMemory: ResidentBytesIsTheSecondStatmFieldInPages", "[memory]") {
  const auto bytes = ParseStatmResidentBytes("10000 2500 300 40 0 900 0\n", 4096);
  REQUIRE(bytes.ok());
  CHECK(*bytes == 2500u * 4096u);
}

TEST_CASE("ProcessMemory: MalformedStatmIsAnError", "[memory]") {
  CHECK(ParseStatmResidentBytes("", 4096).status().code() == StatusCode::kInvalidArgument);
  CHECK(ParseStatmResidentBytes("10000", 4096).status().code() == StatusCode::kInvalidArgument);
  CHECK(ParseStatmResidentBytes("10000 x 3", 4096).status().code() ==
        StatusCode::kInvalidArgument);
}

TEST_CASE("ProcessMemory: ThisProcessHasResidentMemory", "[memory]") {
  const auto bytes = ResidentBytes();
  REQUIRE(bytes.ok());
  CHECK(*bytes > 1024u * 1024u);
}

}  // namespace
}  // namespace tiercache
