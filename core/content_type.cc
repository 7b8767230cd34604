#include "core/content_type.h"

namespace tiercache {

Status ValidateContentType(std::string_view text) {
  if (text.size() > kMaxContentTypeBytes) {
    return Status::InvalidArgument("content type of " + std::to_string(text.size()) +
                                   " bytes exceeds " + std::to_string(kMaxContentTypeBytes));
  }
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) {
      return Status::InvalidArgument("content type may hold only visible ASCII and spaces");
    }
  }
  return Status::Ok();
}

}  // namespace tiercache
