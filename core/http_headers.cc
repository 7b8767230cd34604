#include "core/http_headers.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>

namespace tiercache {

namespace {

char Lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Delta-seconds (RFC 9111 1.2.2): digits; past 2^31 it counts as 2^31.
int64_t DeltaSeconds(std::string_view text) {
  constexpr int64_t kMax = int64_t{1} << 31;
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.empty() || !std::all_of(text.begin(), text.end(), [](char c) {
        return c >= '0' && c <= '9';
      })) {
    return 0;
  }
  int64_t value = 0;
  for (char c : text) {
    value = value * 10 + (c - '0');
    if (value >= kMax) return kMax;
  }
  return value;
}

void KeepStricter(std::optional<int64_t>& slot, int64_t value) {
  slot = slot ? std::min(*slot, value) : value;
}

int MonthIndex(std::string_view name) {
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i) {
    if (name == kMonths[i]) return i;
  }
  return -1;
}

bool Number(std::string_view text, int& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

std::optional<WallTime> FromFields(int year, int month, int day, int hour, int minute,
                                   int second) {
  if (month < 0 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60 ||
      year < 1900 || hour < 0 || minute < 0 || second < 0) {
    return std::nullopt;
  }
  // Past 2200 the nanosecond clock is near its end (2262): as far as any cache cares, a
  // date that far is "never".
  if (year > 2200) year = 2200;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const time_t t = timegm(&tm);
  return std::chrono::system_clock::from_time_t(t);
}

// "08:49:37"
bool ClockTime(std::string_view text, int& h, int& m, int& s) {
  return text.size() == 8 && text[2] == ':' && text[5] == ':' && Number(text.substr(0, 2), h) &&
         Number(text.substr(3, 2), m) && Number(text.substr(6, 2), s);
}

std::vector<std::string_view> Words(std::string_view text) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    const size_t start = i;
    while (i < text.size() && text[i] != ' ') ++i;
    if (i > start) words.push_back(text.substr(start, i - start));
  }
  return words;
}

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(),
                    [](char x, char y) { return Lower(x) == Lower(y); });
}

std::string LowerCase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = Lower(c);
  return out;
}

std::optional<std::string_view> FindHeader(const HeaderList& headers, std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (EqualsIgnoreCase(n, name)) return std::string_view(v);
  }
  return std::nullopt;
}

std::string CombinedHeader(const HeaderList& headers, std::string_view name) {
  std::string out;
  for (const auto& [n, v] : headers) {
    if (!EqualsIgnoreCase(n, name)) continue;
    if (!out.empty()) out += ", ";
    out += v;
  }
  return out;
}

void RemoveHeader(HeaderList& headers, std::string_view name) {
  headers.erase(std::remove_if(headers.begin(), headers.end(),
                               [&](const auto& h) { return EqualsIgnoreCase(h.first, name); }),
                headers.end());
}

std::vector<std::string_view> SplitList(std::string_view value) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    if (comma == std::string_view::npos) comma = value.size();
    const std::string_view member = Trim(value.substr(start, comma - start));
    if (!member.empty()) out.push_back(member);
    start = comma + 1;
  }
  return out;
}

void RemoveHopByHop(HeaderList& headers) {
  const std::string connection = CombinedHeader(headers, "connection");
  std::vector<std::string_view> named = SplitList(connection);
  static constexpr std::string_view kHopByHop[] = {
      "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
      "upgrade", "content-length"};
  headers.erase(std::remove_if(headers.begin(), headers.end(),
                               [&](const auto& h) {
                                 for (std::string_view n : kHopByHop) {
                                   if (EqualsIgnoreCase(h.first, n)) return true;
                                 }
                                 for (const auto& n : named) {
                                   if (EqualsIgnoreCase(h.first, n)) return true;
                                 }
                                 return false;
                               }),
                headers.end());
}

CacheControl ParseCacheControl(std::string_view value) {
  CacheControl cc;
  // Split on commas outside quoted strings (no-cache="a, b").
  std::vector<std::string_view> parts;
  size_t start = 0;
  bool quoted = false;
  for (size_t i = 0; i <= value.size(); ++i) {
    if (i < value.size() && value[i] == '"') quoted = !quoted;
    if (i == value.size() || (value[i] == ',' && !quoted)) {
      parts.push_back(Trim(value.substr(start, i - start)));
      start = i + 1;
    }
  }
  for (std::string_view part : parts) {
    if (part.empty()) continue;
    const size_t eq = part.find('=');
    const std::string name = LowerCase(Trim(part.substr(0, eq)));
    const std::string_view arg = eq == std::string_view::npos ? "" : Trim(part.substr(eq + 1));
    if (name == "no-store") {
      cc.no_store = true;
    } else if (name == "no-cache") {
      cc.no_cache = true;
    } else if (name == "private") {
      cc.is_private = true;
    } else if (name == "public") {
      cc.is_public = true;
    } else if (name == "must-revalidate") {
      cc.must_revalidate = true;
    } else if (name == "proxy-revalidate") {
      cc.proxy_revalidate = true;
    } else if (name == "only-if-cached") {
      cc.only_if_cached = true;
    } else if (name == "max-age") {
      KeepStricter(cc.max_age, DeltaSeconds(arg));
    } else if (name == "s-maxage") {
      KeepStricter(cc.s_maxage, DeltaSeconds(arg));
    } else if (name == "stale-while-revalidate") {
      KeepStricter(cc.stale_while_revalidate, DeltaSeconds(arg));
    } else if (name == "stale-if-error") {
      KeepStricter(cc.stale_if_error, DeltaSeconds(arg));
    }
  }
  return cc;
}

std::optional<WallTime> ParseHttpDate(std::string_view text) {
  text = Trim(text);
  const std::vector<std::string_view> w = Words(text);
  int day = 0, year = 0, h = 0, m = 0, s = 0;
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  if (w.size() == 6 && w[0].size() == 4 && w[0].back() == ',' && w[5] == "GMT" &&
      w[1].size() == 2 && Number(w[1], day) && w[3].size() == 4 && Number(w[3], year) &&
      ClockTime(w[4], h, m, s)) {
    return FromFields(year, MonthIndex(w[2]), day, h, m, s);
  }
  // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"; a two-digit year is taken in 1970-2069.
  if (w.size() == 4 && w[0].back() == ',' && w[3] == "GMT" && w[1].size() == 9 &&
      w[1][2] == '-' && w[1][6] == '-' && Number(w[1].substr(0, 2), day) &&
      Number(w[1].substr(7, 2), year) && ClockTime(w[2], h, m, s)) {
    year += year < 70 ? 2000 : 1900;
    return FromFields(year, MonthIndex(w[1].substr(3, 3)), day, h, m, s);
  }
  // asctime: "Sun Nov  6 08:49:37 1994"
  if (w.size() == 5 && w[0].size() == 3 && Number(w[2], day) && ClockTime(w[3], h, m, s) &&
      w[4].size() == 4 && Number(w[4], year)) {
    return FromFields(year, MonthIndex(w[1]), day, h, m, s);
  }
  return std::nullopt;
}

std::string FormatHttpDate(WallTime time) {
  const std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[40];
  const size_t n = std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(text, n);
}

}  // namespace tiercache
