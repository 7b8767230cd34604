// tiercache's own commands, mirroring the HTTP API: invalidation by keys, tags, pattern
// and model, scheduled invalidation, warming, and an entry's tags.
//
//   TC.INVALIDATE <criteria>            -> integer: entries invalidated
//   TC.SCHEDULE <seconds> <criteria>    -> bulk: the job id
//   TC.CANCEL <job id>                  -> OK, or an error if it was not pending
//   TC.WARM <source>                    -> OK once the run has started
//   TC.TAGS <key>                       -> array: the tags L1 holds for the key
//
// <criteria> is any combination of KEYS k [k ...], TAGS t [t ...], PATTERN regex (RE2, as
// in the HTTP API), MATCH glob (Redis's KEYS syntax, whole keys) and MODEL name id
// [EVENT save|delete] [FIELD name value ...]; a keyword ends the list before it.

#include <memory>

#include "server/resp/resp_command.h"

namespace tiercache::resp {

namespace {

bool IsKeyword(std::string_view a) {
  return EqualsIgnoreCase(a, "KEYS") || EqualsIgnoreCase(a, "TAGS") ||
         EqualsIgnoreCase(a, "PATTERN") || EqualsIgnoreCase(a, "MATCH") ||
         EqualsIgnoreCase(a, "MODEL") ||
         EqualsIgnoreCase(a, "EVENT") || EqualsIgnoreCase(a, "FIELD");
}

// A Redis glob (*, ?, [set], [^set], \x) as an RE2 expression matching whole keys.
std::string GlobToRegex(std::string_view glob) {
  std::string re = "^";
  for (size_t i = 0; i < glob.size(); ++i) {
    const char c = glob[i];
    if (c == '*') {
      re += ".*";
    } else if (c == '?') {
      re += '.';
    } else if (c == '[') {
      const size_t close = glob.find(']', i + 1);
      if (close == std::string_view::npos) {
        re += "\\[";
        continue;
      }
      std::string_view set = glob.substr(i + 1, close - i - 1);
      re += '[';
      if (!set.empty() && set[0] == '^') {
        re += '^';
        set.remove_prefix(1);
      }
      for (char s : set) {
        if (s == '\\' || s == '[' || s == ']') re += '\\';
        re += s;
      }
      re += ']';
      i = close;
    } else {
      const char literal = c == '\\' && i + 1 < glob.size() ? glob[++i] : c;
      if (std::string_view("\\.+*?()|[]{}^$").find(literal) != std::string_view::npos) {
        re += '\\';
      }
      re += literal;
    }
  }
  return re + "$";
}

// Reads <criteria> from args[i] on; an error text, empty when the request is good.
std::string ParseCriteria(const Args& args, size_t i, InvalidateRequest& request) {
  if (i >= args.size()) return "ERR syntax error: expected KEYS, TAGS, PATTERN or MODEL";
  while (i < args.size()) {
    const std::string_view word = args[i++];
    const auto list = [&](std::vector<std::string>& into) {
      const size_t start = i;
      while (i < args.size() && !IsKeyword(args[i])) into.emplace_back(args[i++]);
      return i > start;
    };
    if (EqualsIgnoreCase(word, "KEYS")) {
      if (!list(request.keys)) return "ERR syntax error: KEYS needs at least one key";
    } else if (EqualsIgnoreCase(word, "TAGS")) {
      if (!list(request.tags)) return "ERR syntax error: TAGS needs at least one tag";
    } else if (EqualsIgnoreCase(word, "PATTERN")) {
      if (i >= args.size() || request.pattern) return "ERR syntax error: PATTERN takes one pattern";
      request.pattern.emplace(args[i++]);
    } else if (EqualsIgnoreCase(word, "MATCH")) {
      if (i >= args.size() || request.pattern) return "ERR syntax error: MATCH takes one pattern";
      request.pattern = GlobToRegex(args[i++]);
    } else if (EqualsIgnoreCase(word, "MODEL")) {
      if (i + 1 >= args.size() || request.model) {
        return "ERR syntax error: MODEL takes a model name and an instance id";
      }
      ModelInvalidation model;
      model.model.assign(args[i++]);
      model.fields["id"] = std::string(args[i++]);
      request.model = std::move(model);
    } else if (EqualsIgnoreCase(word, "EVENT") && request.model && i < args.size()) {
      auto event = ParseModelEvent(args[i++]);
      if (!event.ok()) return "ERR " + event.status().message();
      request.model->event = *event;
    } else if (EqualsIgnoreCase(word, "FIELD") && request.model && i + 1 < args.size()) {
      std::string name(args[i++]);
      request.model->fields[name] = std::string(args[i++]);
    } else {
      return "ERR syntax error near '" + std::string(word) + "'";
    }
  }
  return {};
}

void Invalidate(Call& c) {
  InvalidateRequest request;
  if (std::string error = ParseCriteria(c.args, 1, request); !error.empty()) {
    return c.reply.Error(error);
  }
  c.service.Invalidate(c.options.frontend, request,
                       [reply = c.reply](Result<InvalidateResult> result) {
                         if (!result.ok()) return reply.Error(ErrorText(result.status()));
                         const auto n = static_cast<int64_t>(result->total());
                         reply.Send([n](ReplyWriter& w) { w.Integer(n); });
                       });
}

void Schedule(Call& c) {
  const std::string text(c.args[1]);
  char* end = nullptr;
  const double seconds = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size()) {
    return c.reply.Error("ERR delay is not a number of seconds");
  }
  InvalidateRequest request;
  if (std::string error = ParseCriteria(c.args, 2, request); !error.empty()) {
    return c.reply.Error(error);
  }
  c.service.ScheduleInvalidation(c.options.frontend, seconds, std::move(request),
                                 [reply = c.reply](Result<ScheduledJob> job) {
                                   if (!job.ok()) return reply.Error(ErrorText(job.status()));
                                   reply.Send([&](ReplyWriter& w) { w.Bulk(job->job_id); });
                                 });
}

void Cancel(Call& c) {
  const Status s = c.service.CancelJob(c.args[1]);
  if (!s.ok()) return c.reply.Error(ErrorText(s));
  c.reply.Ok();
}

void Warm(Call& c) {
  const Status s = c.service.StartWarm(c.args[1]);
  if (!s.ok()) return c.reply.Error(ErrorText(s));
  c.reply.Ok();
}

void Tags(Call& c) {
  auto tags = std::make_shared<std::optional<std::vector<std::string>>>();
  c.service.Update(
      c.options.frontend, std::string(c.args[1]),
      [tags](const StoredEntry* current) -> Result<EntryChange> {
        if (current != nullptr) *tags = current->tags;
        return EntryChange{};
      },
      [tags, reply = c.reply](Status s) {
        if (!s.ok()) return reply.Error(ErrorText(s));
        reply.Send([&](ReplyWriter& w) {
          if (!*tags) return w.NullArray();
          w.Array((*tags)->size());
          for (const auto& t : **tags) w.Bulk(t);
        });
      });
}

}  // namespace

void AddTiercacheCommands(std::vector<CommandSpec>& table) {
  table.push_back({"tc.invalidate", -3, Invalidate});
  table.push_back({"tc.schedule", -4, Schedule});
  table.push_back({"tc.cancel", 2, Cancel});
  table.push_back({"tc.warm", 2, Warm});
  table.push_back({"tc.tags", 2, Tags});
}

}  // namespace tiercache::resp
