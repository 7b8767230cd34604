#include "core/model_rules.h"

#include <re2/re2.h>

#include <algorithm>
#include <functional>
#include <set>

#include "core/key_pattern.h"

namespace tiercache {

namespace {

// Deeper than any sensible rule set; with cascade a chain is followed to its end.
constexpr int kUnbounded = 1 << 20;

bool IsFieldStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsFieldChar(char c) { return IsFieldStart(c) || (c >= '0' && c <= '9'); }

// The length of the placeholder name starting at text[i] (just after '{') when text[i..]
// is `name}`; 0 when this brace is literal.
size_t PlaceholderLength(std::string_view text, size_t i) {
  if (i >= text.size() || !IsFieldStart(text[i])) return 0;
  size_t j = i;
  while (j < text.size() && IsFieldChar(text[j])) ++j;
  return j < text.size() && text[j] == '}' ? j - i : 0;
}

template <class Visit>
void ForEachPlaceholder(std::string_view text, Visit visit) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '{') continue;
    if (size_t n = PlaceholderLength(text, i + 1); n > 0) {
      visit(text.substr(i + 1, n));
      i += n + 1;
    }
  }
}

void AddUnique(std::vector<std::string>& to, std::string value) {
  if (std::find(to.begin(), to.end(), value) == to.end()) to.push_back(std::move(value));
}

// Finds a cycle among related models by depth-first search; "a -> b -> a" or empty.
std::string FindCycle(const std::vector<ModelRule>& rules, const ModelRules& index) {
  enum class Mark { kNew, kOnPath, kDone };
  std::map<std::string_view, Mark> marks;
  std::vector<std::string_view> path;
  std::string cycle;
  std::function<bool(const ModelRule&)> visit = [&](const ModelRule& rule) {
    marks[rule.model] = Mark::kOnPath;
    path.push_back(rule.model);
    for (const RelatedModel& r : rule.related) {
      const Mark mark = marks.count(r.model) ? marks[r.model] : Mark::kNew;
      if (mark == Mark::kOnPath) {
        auto from = std::find(path.begin(), path.end(), std::string_view(r.model));
        for (auto it = from; it != path.end(); ++it) cycle += std::string(*it) + " -> ";
        cycle += r.model;
        return true;
      }
      if (mark == Mark::kNew && visit(*index.Find(r.model))) return true;
    }
    path.pop_back();
    marks[rule.model] = Mark::kDone;
    return false;
  };
  for (const ModelRule& rule : rules) {
    if (!marks.count(rule.model) && visit(rule)) return cycle;
  }
  return {};
}

Status CheckTemplate(const ModelRule& rule, std::string_view what, std::string_view text) {
  if (text.empty()) {
    return Status::InvalidArgument("model " + rule.model + ": empty " + std::string(what));
  }
  return Status::Ok();
}

}  // namespace

Result<ModelEvent> ParseModelEvent(std::string_view name) {
  if (name == "save") return ModelEvent::kSave;
  if (name == "delete") return ModelEvent::kDelete;
  return Status::InvalidArgument("event must be save or delete, got '" + std::string(name) + "'");
}

std::string_view ModelEventName(ModelEvent event) {
  return event == ModelEvent::kSave ? "save" : "delete";
}

Result<std::string> FillTemplate(std::string_view text, const ModelFields& fields, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const size_t n = text[i] == '{' ? PlaceholderLength(text, i + 1) : 0;
    if (n == 0) {
      out += text[i];
      continue;
    }
    const std::string_view name = text.substr(i + 1, n);
    auto it = fields.find(name);
    if (it == fields.end()) {
      return Status::InvalidArgument("'" + std::string(text) + "' needs the field " +
                                     std::string(name));
    }
    out += quote ? RE2::QuoteMeta(it->second) : it->second;
    i += n + 1;
  }
  return out;
}

Result<ModelRules> ModelRules::Make(std::vector<ModelRule> rules) {
  ModelRules made(std::move(rules));
  std::set<std::string_view> seen;
  for (const ModelRule& rule : made.rules_) {
    if (rule.model.empty()) return Status::InvalidArgument("a model rule needs a model name");
    if (!seen.insert(rule.model).second) {
      return Status::InvalidArgument("model " + rule.model + " has two rules");
    }
    if (rule.on.empty()) {
      return Status::InvalidArgument("model " + rule.model + ": on must name an event");
    }
    for (const auto& k : rule.keys) {
      if (Status s = CheckTemplate(rule, "key", k); !s.ok()) return s;
    }
    for (const auto& t : rule.tags) {
      if (Status s = CheckTemplate(rule, "tag", t); !s.ok()) return s;
    }
    for (const auto& p : rule.patterns) {
      if (Status s = CheckTemplate(rule, "pattern", p); !s.ok()) return s;
      // Compiled with every placeholder filled, so a broken pattern fails now, not on the
      // first invalidation.
      ModelFields sample;
      ForEachPlaceholder(p, [&](std::string_view name) { sample.emplace(name, "0"); });
      auto compiled = KeyPattern::Compile(*FillTemplate(p, sample, true));
      if (!compiled.ok()) {
        return Status::InvalidArgument("model " + rule.model + ": pattern '" + p +
                                       "': " + compiled.status().message());
      }
    }
  }
  for (const ModelRule& rule : made.rules_) {
    for (const RelatedModel& r : rule.related) {
      if (made.Find(r.model) == nullptr) {
        return Status::InvalidArgument("model " + rule.model + ": related model " + r.model +
                                       " has no rule");
      }
    }
  }
  if (std::string cycle = FindCycle(made.rules_, made); !cycle.empty()) {
    return Status::InvalidArgument("related models form a cycle: " + cycle);
  }
  return made;
}

const ModelRule* ModelRules::Find(std::string_view model) const {
  for (const ModelRule& rule : rules_) {
    if (rule.model == model) return &rule;
  }
  return nullptr;
}

Result<ModelExpansion> ModelRules::Expand(std::string_view model, ModelEvent event,
                                          const ModelFields& fields) const {
  const ModelRule* rule = Find(model);
  if (rule == nullptr) {
    return Status::NotFound("no invalidation rule for model '" + std::string(model) + "'");
  }
  ModelExpansion out;
  if (std::find(rule->on.begin(), rule->on.end(), event) == rule->on.end()) {
    out.models.push_back(rule->model);  // known, but this event changes nothing
    return out;
  }
  std::vector<const ModelRule*> path;
  if (Status s = ExpandInto(*rule, fields, rule->cascade ? kUnbounded : 1, path, out); !s.ok()) {
    return s;
  }
  return out;
}

Status ModelRules::ExpandInto(const ModelRule& rule, const ModelFields& fields, int depth,
                              std::vector<const ModelRule*>& path, ModelExpansion& out) const {
  if (std::find(path.begin(), path.end(), &rule) != path.end()) return Status::Ok();
  path.push_back(&rule);
  AddUnique(out.models, rule.model);
  auto fill = [&](const std::vector<std::string>& templates, std::vector<std::string>& to,
                  bool quote) -> Status {
    for (const auto& t : templates) {
      auto filled = FillTemplate(t, fields, quote);
      if (!filled.ok()) {
        return Status::InvalidArgument("model " + rule.model + ": " + filled.status().message());
      }
      AddUnique(to, std::move(filled).value());
    }
    return Status::Ok();
  };
  if (Status s = fill(rule.keys, out.keys, false); !s.ok()) return s;
  if (Status s = fill(rule.tags, out.tags, false); !s.ok()) return s;
  if (Status s = fill(rule.patterns, out.patterns, true); !s.ok()) return s;
  if (depth > 0) {
    for (const RelatedModel& related : rule.related) {
      ModelFields passed = fields;
      for (const auto& [name, text] : related.fields) {
        auto value = FillTemplate(text, fields, false);
        if (!value.ok()) {
          return Status::InvalidArgument("model " + rule.model + " -> " + related.model + ": " +
                                         value.status().message());
        }
        passed[name] = std::move(value).value();
      }
      if (Status s = ExpandInto(*Find(related.model), passed, depth - 1, path, out); !s.ok()) {
        return s;
      }
    }
  }
  path.pop_back();
  return Status::Ok();
}

}  // namespace tiercache
