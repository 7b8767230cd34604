#pragma once

#include <string_view>

#include "core/service.h"
#include "core/status.h"

namespace tiercache {

// Decodes one database change notification (deploy/sql/notify/model_changes.sql):
// {"model": "auth.User", "id": 7, "event": "save" | "delete", ...other fields}. `id` and
// the other fields (strings or integers) fill the model's templates; kInvalidArgument
// for anything else.
Result<ModelInvalidation> ParseChangeNotification(std::string_view payload);

}  // namespace tiercache
