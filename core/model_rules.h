#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace tiercache {

enum class ModelEvent : uint8_t { kSave, kDelete };

// "save" / "delete"; kInvalidArgument for anything else.
Result<ModelEvent> ParseModelEvent(std::string_view name);
std::string_view ModelEventName(ModelEvent event);

// The fields of the model instance a rule's templates are filled from: "id" and any other
// the request or notification carries ("org_id", ...).
using ModelFields = std::map<std::string, std::string, std::less<>>;

// A model whose rules apply when the model that names it is invalidated. `fields` maps a
// field of the related model to a template over the parent's fields ({"user_id": "{id}"});
// fields not mapped are passed on unchanged.
struct RelatedModel {
  std::string model;
  ModelFields fields;
};

// What invalidating one model instance removes. Templates hold placeholders `{field}`
// (a field name: a letter or _, then letters, digits, _); any other brace is literal, so
// RE2 repetitions like `[0-9]{3}` stay as written. In patterns, the substituted values are
// quoted, so an id "1.5" matches only itself.
struct ModelRule {
  std::string model;  // "auth.User"
  std::vector<ModelEvent> on{ModelEvent::kSave, ModelEvent::kDelete};
  std::vector<std::string> keys;
  std::vector<std::string> tags;
  std::vector<std::string> patterns;
  std::vector<RelatedModel> related;
  // Follow the related models' own related models too, transitively.
  bool cascade = false;
};

// The keys, tags and patterns one model invalidation expands to.
struct ModelExpansion {
  std::vector<std::string> keys;
  std::vector<std::string> tags;
  std::vector<std::string> patterns;
  std::vector<std::string> models;  // the rules applied, the requested model first
};

// A validated set of model rules. Immutable and safe to share between threads.
class ModelRules {
 public:
  ModelRules() = default;

  // Checks every rule: a model named twice, no event, an empty template, a related model
  // without a rule, a pattern that does not compile, or a cycle among related models
  // ("a -> b -> a") is kInvalidArgument naming it.
  static Result<ModelRules> Make(std::vector<ModelRule> rules);

  bool empty() const { return rules_.empty(); }
  // Every rule, in the order configured.
  const std::vector<ModelRule>& rules() const { return rules_; }
  const ModelRule* Find(std::string_view model) const;

  // What invalidating `model` with `fields` on `event` removes: its own templates when it
  // reacts to `event`, then its related models' (whatever their own `on`: the parent's
  // change is what makes their entries stale), and theirs in turn when `cascade` is set.
  // kNotFound for a model without a rule; kInvalidArgument for a field a template needs
  // and `fields` lacks.
  Result<ModelExpansion> Expand(std::string_view model, ModelEvent event,
                                const ModelFields& fields) const;

 private:
  explicit ModelRules(std::vector<ModelRule> rules) : rules_(std::move(rules)) {}
  // Adds `rule`'s templates, then its related models' when `depth` allows (0: none, 1: one
  // level, more: further); `path` guards against a cycle even though Make rejects them.
  Status ExpandInto(const ModelRule& rule, const ModelFields& fields, int depth,
                    std::vector<const ModelRule*>& path, ModelExpansion& out) const;

  std::vector<ModelRule> rules_;
};

// Fills the placeholders of `text` from `fields`; `quote` applies RE2 quoting to each value
// (for patterns). kInvalidArgument naming the missing field.
Result<std::string> FillTemplate(std::string_view text, const ModelFields& fields, bool quote);

}  // namespace tiercache
