#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/http_headers.h"
#include "core/status.h"

namespace tiercache {

// The media type a cached response is stored under, so that a reader of the key through
// the other front ends sees what it is.
inline constexpr std::string_view kStoredResponseType = "application/vnd.tiercache.response";

// A response of an origin as the proxy keeps it in the tiers: an entry like any other,
// with what RFC 9111 needs to tell later whether it is fresh, and its body last (served
// from the stored bytes without a copy).
struct StoredResponse {
  enum class Kind : uint8_t {
    kResponse = 1,
    // Stands at the URL's key when the origin's Vary names request fields: `vary` lists
    // them, and each variant is stored under a key made of their values.
    kVariants = 2,
  };
  Kind kind = Kind::kResponse;
  unsigned status = 200;
  HeaderList headers;  // end-to-end fields, as the origin sent them
  // The request fields the origin's Vary named (lowercase), with the stored request's
  // values (kResponse: checked on every hit; kVariants: names only).
  std::vector<std::pair<std::string, std::string>> vary;
  WallTime received{};       // response_time (RFC 9111 4.2.3)
  Duration initial_age{0};   // corrected_initial_age at `received`
  Duration freshness{0};     // freshness lifetime
  Duration stale_while_revalidate{0};
  Duration stale_if_error{0};
  bool must_revalidate = false;  // must-revalidate or proxy-revalidate: never served stale
  bool no_cache = false;         // revalidated before every use

  Duration AgeAt(WallTime now) const {
    return initial_age + std::max(Duration::zero(), now - received);
  }
};

std::string EncodeStoredResponse(const StoredResponse& response, std::string_view body);

// A stored response and where its body starts in the bytes it was read from.
struct DecodedResponse {
  StoredResponse response;
  size_t body_offset = 0;
};
// kInvalidArgument for bytes that are not a stored response (another client's value under
// the key), never a crash: every length is checked against what is left.
Result<DecodedResponse> DecodeStoredResponse(std::string_view bytes);

}  // namespace tiercache
