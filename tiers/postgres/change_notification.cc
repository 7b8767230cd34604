#include "tiers/postgres/change_notification.h"

#include <nlohmann/json.hpp>

namespace tiercache {

namespace {

std::optional<std::string> FieldText(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_integer()) return value.dump();
  return std::nullopt;
}

}  // namespace

Result<ModelInvalidation> ParseChangeNotification(std::string_view payload) {
  const nlohmann::json doc = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return Status::InvalidArgument("not a JSON object");
  ModelInvalidation change;
  for (const auto& [name, value] : doc.items()) {
    if (name == "model") {
      if (!value.is_string() || value.get<std::string>().empty()) {
        return Status::InvalidArgument("model must be a non-empty string");
      }
      change.model = value.get<std::string>();
    } else if (name == "event") {
      if (!value.is_string()) return Status::InvalidArgument("event must be save or delete");
      auto event = ParseModelEvent(value.get<std::string>());
      if (!event.ok()) return event.status();
      change.event = *event;
    } else if (value.is_null()) {
      // A NULL column: a template that needs it fails, naming the field.
      continue;
    } else {
      auto text = FieldText(value);
      if (!text) return Status::InvalidArgument(name + " must be a string or an integer");
      change.fields[name] = std::move(*text);
    }
  }
  if (change.model.empty()) return Status::InvalidArgument("no model");
  return change;
}

}  // namespace tiercache
