#include "core/proxy_route.h"

#include <re2/re2.h>

#include <algorithm>

#include "core/sha256.h"

namespace tiercache {

PathPattern::PathPattern(std::unique_ptr<re2::RE2> re, std::string source)
    : re_(std::move(re)), source_(std::move(source)) {}

PathPattern::~PathPattern() = default;

Result<std::shared_ptr<const PathPattern>> PathPattern::Compile(std::string_view pattern) {
  re2::RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_unique<re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re->ok()) {
    return Status::InvalidArgument("invalid pattern '" + std::string(pattern) +
                                   "': " + re->error());
  }
  return std::shared_ptr<const PathPattern>(new PathPattern(std::move(re), std::string(pattern)));
}

bool PathPattern::Search(std::string_view text) const {
  return re2::RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *re_);
}

bool PathPattern::Capture(std::string_view text, PathCaptures& out) const {
  const int groups = re_->NumberOfCapturingGroups();
  std::vector<re2::StringPiece> found(static_cast<size_t>(groups) + 1);
  if (!re_->Match(re2::StringPiece(text.data(), text.size()), 0, text.size(),
                  re2::RE2::UNANCHORED, found.data(), groups + 1)) {
    return false;
  }
  out.numbered.clear();
  out.named.clear();
  for (int i = 1; i <= groups; ++i) out.numbered.emplace_back(found[i].data(), found[i].size());
  for (const auto& [name, index] : re_->NamedCapturingGroups()) {
    out.named.emplace_back(name, out.numbered[static_cast<size_t>(index) - 1]);
  }
  return true;
}

std::string_view ProxyRequest::path() const {
  return std::string_view(target).substr(0, target.find('?'));
}

std::string_view ProxyRequest::query() const {
  const size_t q = target.find('?');
  return q == std::string::npos ? std::string_view() : std::string_view(target).substr(q + 1);
}

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// name=value pairs of a query, as sent (still encoded).
std::vector<std::pair<std::string_view, std::string_view>> QueryParams(std::string_view query) {
  std::vector<std::pair<std::string_view, std::string_view>> params;
  size_t start = 0;
  while (start <= query.size() && !query.empty()) {
    size_t amp = query.find('&', start);
    if (amp == std::string_view::npos) amp = query.size();
    const std::string_view part = query.substr(start, amp - start);
    if (!part.empty()) {
      const size_t eq = part.find('=');
      params.emplace_back(part.substr(0, eq),
                          eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1));
    }
    start = amp + 1;
  }
  return params;
}

}  // namespace

bool RouteTakes(const ProxyRoute& route, std::string_view path, PathCaptures& captures) {
  return route.path_pattern ? route.path_pattern->Capture(path, captures)
                            : path.starts_with(route.path_prefix);
}

std::optional<std::string> CookieValue(const HeaderList& headers, std::string_view name) {
  for (const auto& [field, value] : headers) {
    if (!EqualsIgnoreCase(field, "cookie")) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      size_t semi = rest.find(';');
      if (semi == std::string_view::npos) semi = rest.size();
      const std::string_view pair = Trim(rest.substr(0, semi));
      const size_t eq = pair.find('=');
      if (eq != std::string_view::npos && Trim(pair.substr(0, eq)) == name) {
        std::string_view v = Trim(pair.substr(eq + 1));
        if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
        return std::string(v);
      }
      rest.remove_prefix(std::min(rest.size(), semi + 1));
    }
  }
  return std::nullopt;
}

bool ConditionHolds(const ProxyCondition& c, const ProxyRequest& request) {
  std::optional<std::string> value;
  switch (c.subject) {
    case ProxyCondition::Subject::kHeader:
      if (auto v = FindHeader(request.headers, c.name)) value = std::string(*v);
      break;
    case ProxyCondition::Subject::kCookie:
      value = CookieValue(request.headers, c.name);
      break;
    case ProxyCondition::Subject::kQuery:
      for (const auto& [n, v] : QueryParams(request.query())) {
        if (n == c.name) {
          value = std::string(v);
          break;
        }
      }
      break;
    case ProxyCondition::Subject::kPath:
      value = std::string(request.path());
      break;
  }
  if (!value) return false;
  return c.matches == nullptr || c.matches->Search(*value);
}

std::string KeyQuery(const ProxyRoute& route, std::string_view query) {
  if (route.vary_params == VaryParams::kNone || query.empty()) return {};
  auto params = QueryParams(query);
  if (route.vary_params == VaryParams::kList) {
    params.erase(std::remove_if(params.begin(), params.end(),
                                [&](const auto& p) {
                                  return std::find(route.vary_param_names.begin(),
                                                   route.vary_param_names.end(),
                                                   p.first) == route.vary_param_names.end();
                                }),
                 params.end());
  }
  std::stable_sort(params.begin(), params.end());
  std::string out;
  for (const auto& [n, v] : params) {
    if (!out.empty()) out += '&';
    out.append(n).append("=").append(v);
  }
  return out;
}

std::optional<std::string> Credential(const ProxyRoute& route, const ProxyRequest& request) {
  if (route.vary_on_auth.empty()) return std::nullopt;
  if (route.vary_on_auth == "authorization") {
    if (auto v = FindHeader(request.headers, "authorization")) return std::string(*v);
    return std::nullopt;
  }
  return CookieValue(request.headers, std::string_view(route.vary_on_auth).substr(7));
}

std::string ResponseKey(const ProxyRoute& route, const ProxyRequest& request,
                        const std::vector<std::pair<std::string, std::string>>& extra) {
  std::string key = route.key_prefix;
  key.append(request.path());
  const std::string query = KeyQuery(route, request.query());
  if (!query.empty()) key.append("?").append(query);
  // Field values are arbitrary bytes: each goes in with its length, so that no two lists
  // of values read alike.
  std::string varied;
  const auto add = [&](std::string_view name, std::string_view value) {
    varied.append(std::to_string(name.size())).append(":").append(name);
    varied.append(std::to_string(value.size())).append(":").append(value);
  };
  for (const auto& name : route.vary_on) add(name, CombinedHeader(request.headers, name));
  if (!route.vary_on_auth.empty()) {
    const auto credential = Credential(route, request);
    add(route.vary_on_auth, credential ? "1" + *credential : "0");
  }
  for (const auto& [name, value] : extra) add(name, value);
  // A Host that reaches the origin is part of what the response may depend on.
  if (route.pass_host) add("host", CombinedHeader(request.headers, "host"));
  if (!varied.empty()) key.append("#").append(Sha256Hex(varied, 16));
  return key;
}

std::vector<std::string> RouteTags(const ProxyRoute& route, std::string_view path,
                                   const PathCaptures& captures) {
  std::vector<std::string> tags;
  for (const std::string& tmpl : route.tags) {
    std::string tag;
    bool complete = true;
    for (size_t i = 0; i < tmpl.size() && complete;) {
      if (tmpl[i] != '{') {
        tag.push_back(tmpl[i++]);
        continue;
      }
      const size_t close = tmpl.find('}', i);
      if (close == std::string::npos) {
        tag.append(tmpl.substr(i));
        break;
      }
      const std::string name = tmpl.substr(i + 1, close - i - 1);
      i = close + 1;
      if (name == "path") {
        tag.append(path);
      } else if (!name.empty() && std::all_of(name.begin(), name.end(),
                                              [](char c) { return c >= '0' && c <= '9'; })) {
        const size_t n = name.size() > 4 ? 0 : std::stoul(name);
        if (n == 0 || n > captures.numbered.size()) {
          complete = false;
        } else {
          tag.append(captures.numbered[n - 1]);
        }
      } else {
        auto it = std::find_if(captures.named.begin(), captures.named.end(),
                               [&](const auto& p) { return p.first == name; });
        if (it == captures.named.end()) {
          complete = false;
        } else {
          tag.append(it->second);
        }
      }
    }
    if (complete && !tag.empty()) tags.push_back(std::move(tag));
  }
  return tags;
}

std::string UrlTag(const ProxyRoute& route, std::string_view path) {
  return "proxy-url:" + route.name + ":" + Sha256Hex(path, 16);
}

}  // namespace tiercache
