#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace tiercache {

// An entry's media type, the metadata it carries beside its value ("application/json"), as
// its writer gave it; null when none was given. Shared like the value: one string for L1,
// every tier and every reader.
using ContentType = std::shared_ptr<const std::string>;

inline constexpr size_t kMaxContentTypeBytes = 255;

// Null for an empty text.
inline ContentType MakeContentType(std::string text) {
  if (text.empty()) return nullptr;
  return std::make_shared<const std::string>(std::move(text));
}

// "" for none.
inline std::string_view ContentTypeText(const ContentType& type) {
  return type ? std::string_view(*type) : std::string_view();
}

// kInvalidArgument unless `text` is at most kMaxContentTypeBytes of visible ASCII and
// spaces (what an HTTP header value may carry back unchanged).
Status ValidateContentType(std::string_view text);

}  // namespace tiercache
