#include "server/secret_redaction.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

#include "server/url.h"

namespace tiercache {
namespace {

constexpr size_t npos = std::string_view::npos;

std::string LowerCase(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// libpq's keywords are a closed set, so its secrets can be named exactly; a substring
// match would also hide passfile and sslkey, which are paths worth seeing.
bool IsDsnSecretKeyword(std::string_view keyword) {
  const std::string k = LowerCase(keyword);
  return k == "password" || k == "sslpassword" || k == "oauth_client_secret";
}

// RFC 3986: a letter, then letters, digits, '+', '-', '.'. A "://" after anything else (a
// path, a query) does not start credentials.
bool IsScheme(std::string_view text) {
  if (text.empty() || !std::isalpha(static_cast<unsigned char>(text.front()))) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
  });
}

// Whether an authority without '@' reads as host[:port] items (libpq allows a comma-
// separated list; IPv6 in brackets). One that does not is a sign that a password holding a
// raw '/' cut the authority short.
bool IsHostList(std::string_view authority) {
  size_t begin = 0;
  while (true) {
    const size_t end = authority.find(',', begin);
    std::string_view item = authority.substr(begin, end == npos ? npos : end - begin);
    if (item.starts_with('[')) {
      const size_t close = item.find(']');
      if (close == npos) return false;
      item.remove_prefix(close + 1);
      if (!item.empty() && !item.starts_with(':')) return false;
    }
    if (const size_t colon = item.find(':'); colon != npos) {
      const std::string_view port = item.substr(colon + 1);
      if (port.empty() || port.find_first_not_of("0123456789") != npos) return false;
    }
    if (end == npos) return true;
    begin = end + 1;
  }
}

using NamePredicate = bool (*)(std::string_view);

// Appends `query` (between '?' and '#') to `out` with the value of each name=value pair
// whose decoded name `is_secret` replaced. Empty values are kept: they hide nothing.
void AppendRedactedQuery(std::string_view query, NamePredicate is_secret, std::string& out) {
  size_t begin = 0;
  while (true) {
    const size_t end = query.find('&', begin);
    const std::string_view param = query.substr(begin, end == npos ? npos : end - begin);
    const size_t eq = param.find('=');
    bool hide = false;
    if (eq != npos && eq + 1 < param.size()) {
      // libpq decodes names before matching them, so "pass%77ord" is a password; a name
      // that does not decode could be anything.
      const std::optional<std::string> name = http_api::PercentDecode(param.substr(0, eq));
      hide = !name || is_secret(*name);
    }
    if (hide) {
      out.append(param.substr(0, eq + 1));
      out.append(kRedacted);
    } else {
      out.append(param);
    }
    if (end == npos) return;
    out.push_back('&');
    begin = end + 1;
  }
}

std::string RedactUrlWith(std::string_view url, NamePredicate secret_param) {
  std::string out;
  std::string_view rest = url;
  if (const size_t scheme_end = url.find("://");
      scheme_end != npos && IsScheme(url.substr(0, scheme_end))) {
    out.append(url.substr(0, scheme_end + 3));
    rest.remove_prefix(scheme_end + 3);
    const std::string_view authority = rest.substr(0, rest.find('/'));
    size_t at = authority.rfind('@');
    if (at == npos && !IsHostList(authority)) at = rest.rfind('@');
    if (at != npos) {
      const std::string_view userinfo = rest.substr(0, at);
      const size_t colon = userinfo.find(':');
      if (colon != npos && colon + 1 < userinfo.size()) {
        out.append(userinfo.substr(0, colon + 1));
        out.append(kRedacted);
      } else {
        out.append(userinfo);  // a user alone, or an empty password: nothing to hide
      }
      rest.remove_prefix(at);
    }
  }
  const size_t question = rest.find('?');
  const size_t fragment = rest.find('#');
  if (question == npos || question > fragment) {
    out.append(rest);
    return out;
  }
  out.append(rest.substr(0, question + 1));
  const size_t query_end = fragment == npos ? rest.size() : fragment;
  AppendRedactedQuery(rest.substr(question + 1, query_end - question - 1), secret_param, out);
  out.append(rest.substr(query_end));
  return out;
}

// The keyword=value form, read as libpq's conninfo_parse reads it: spaces allowed around
// '=', a value either unquoted up to the next space or in single quotes, with '\' escaping
// the next character in both.
std::string RedactKeywordValueDsn(std::string_view dsn) {
  std::string out;
  size_t copied = 0;  // dsn[0, copied) is in `out`
  const auto skip_spaces = [&dsn](size_t i) {
    while (i < dsn.size() && IsSpace(dsn[i])) ++i;
    return i;
  };
  // Past an error, what is a value can no longer be told apart, so none of it is shown.
  const auto redact_from = [&](size_t pair_start) {
    out.append(dsn.substr(copied, pair_start - copied));
    out.append(kRedacted);
    return out;
  };
  size_t i = skip_spaces(0);
  while (i < dsn.size()) {
    const size_t pair_start = i;
    while (i < dsn.size() && !IsSpace(dsn[i]) && dsn[i] != '=') ++i;
    const std::string_view keyword = dsn.substr(pair_start, i - pair_start);
    i = skip_spaces(i);
    if (i == dsn.size() || dsn[i] != '=') return redact_from(pair_start);
    i = skip_spaces(i + 1);
    const size_t value_start = i;
    const bool quoted = i < dsn.size() && dsn[i] == '\'';
    if (quoted) ++i;
    while (i < dsn.size() && (quoted ? dsn[i] != '\'' : !IsSpace(dsn[i]))) {
      i += dsn[i] == '\\' && i + 1 < dsn.size() ? 2 : 1;
    }
    if (quoted) {
      if (i == dsn.size()) return redact_from(pair_start);  // unterminated quote
      ++i;
    }
    const std::string_view value = dsn.substr(value_start, i - value_start);
    if (IsDsnSecretKeyword(keyword) && !value.empty() && value != "''") {
      out.append(dsn.substr(copied, value_start - copied));
      out.append(kRedacted);
      copied = i;
    }
    i = skip_spaces(i);
  }
  out.append(dsn.substr(copied));
  return out;
}

}  // namespace

bool LooksSecret(std::string_view name) {
  static constexpr std::array<std::string_view, 9> kHints = {
      "auth", "cookie", "credential", "key", "pass", "secret", "session", "signature", "token"};
  const std::string lower = LowerCase(name);
  return std::any_of(kHints.begin(), kHints.end(),
                     [&lower](std::string_view hint) { return lower.find(hint) != npos; });
}

std::string RedactUrl(std::string_view url) { return RedactUrlWith(url, LooksSecret); }

std::string RedactPostgresDsn(std::string_view dsn) {
  // libpq's own test (recognized_connection_string): a URI prefix, else any '='; anything
  // else is taken as a bare database name, which holds no secret.
  if (dsn.starts_with("postgresql://") || dsn.starts_with("postgres://")) {
    return RedactUrlWith(dsn, IsDsnSecretKeyword);
  }
  if (dsn.find('=') == npos) return std::string(dsn);
  return RedactKeywordValueDsn(dsn);
}

}  // namespace tiercache
