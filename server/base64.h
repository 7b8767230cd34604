#pragma once

#include <string>
#include <string_view>

namespace tiercache::http_api {

// RFC 4648 base64 with padding: binary values inside JSON answers.
std::string Base64(std::string_view bytes);

}  // namespace tiercache::http_api
