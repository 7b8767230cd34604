#include "config/config_loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/units.h"
#include "core/http_headers.h"
#include "core/proxy_route.h"
#include "core/settings.h"

namespace tiercache::config {
namespace {

// A setting as written in the file.
struct Item {
  YAML::Node key;    // undefined for the document itself
  YAML::Node value;  // the setting's value, or a whole section
  std::string name;  // the key, e.g. "io_threads"
  std::string path;  // the dotted name used in messages, e.g. "server.io_threads"
};

// How to read one key of a section into its place in the Config.
struct Field {
  std::string_view name;
  std::function<void(const Item&)> parse;
};

std::string Join(const std::vector<Field>& fields) {
  std::string names;
  for (const Field& field : fields) {
    if (!names.empty()) names += ", ";
    names += field.name;
  }
  return names;
}

// What a node is, for "expected X, got Y".
std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return "'" + node.Scalar() + "'";
    case YAML::NodeType::Sequence:
      return "a sequence";
    case YAML::NodeType::Map:
      return "a map";
    default:
      return "nothing";
  }
}

// The shortest text that reads back as `value` ("0.1", "1000").
std::string FormatNumber(double value) {
  char buffer[32];
  const std::to_chars_result written = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, written.ptr);
}

// Reads one YAML document into a Config, validating as it goes. Throws ConfigError at the
// first problem, positioned at the node responsible.
class Loader {
 public:
  Loader(std::string_view source_name, const TierKinds& kinds)
      : source_name_(source_name), kinds_(kinds) {}

  Config Load(std::string_view yaml) {
    Config config;
    try {
      const std::vector<YAML::Node> documents = YAML::LoadAll(std::string(yaml));
      if (documents.empty()) return config;  // empty or only comments: the default config
      for (size_t i = 1; i < documents.size(); ++i) {
        // A trailing "---" is harmless; a second document would be silently ignored.
        if (!documents[i].IsNull()) {
          FailAt(documents[i].Mark(), "expected one YAML document, found another");
        }
      }
      ReadDocument(Item{YAML::Node(), documents[0], "", ""}, config);
    } catch (const YAML::ParserException& e) {
      FailAt(e.mark, "YAML syntax error: " + e.msg);
    } catch (const YAML::Exception& e) {
      // Not expected once parsing succeeded, but yaml-cpp must not escape as a foreign type.
      FailAt(e.mark, "YAML error: " + e.msg);
    }
    return config;
  }

 private:
  [[noreturn]] void FailAt(const YAML::Mark& mark, const std::string& message) const {
    std::string where(source_name_);
    // yaml-cpp counts from 0; editors and compilers count from 1.
    if (!mark.is_null()) {
      where += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
    }
    throw ConfigError(where + ": " + message);
  }

  // The node an error about `item` points at. yaml-cpp gives an empty value ("key:") the
  // position of whatever follows it, so such errors point at the key instead.
  static const YAML::Node& Anchor(const Item& item) {
    if (item.key.IsDefined() && (!item.value.IsDefined() || item.value.IsNull())) return item.key;
    return item.value;
  }

  // An error in one setting: "FILE:LINE:COLUMN: server.io_threads: message".
  [[noreturn]] void Fail(const Item& item, const std::string& message) const {
    FailAt(Anchor(item).Mark(), item.path.empty() ? message : item.path + ": " + message);
  }

  // An error in a rule between settings of one section, pointing at the first of `names`
  // that the file sets (the rule cannot fail on defaults alone), else at the section.
  [[noreturn]] void FailBetween(const std::vector<Item>& present, const Item& section,
                                std::initializer_list<std::string_view> names,
                                const std::string& message) const {
    for (std::string_view name : names) {
      for (const Item& item : present) {
        if (item.name == name) FailAt(Anchor(item).Mark(), message);
      }
    }
    FailAt(Anchor(section).Mark(), message);
  }

  // Reads the keys of a map section through `fields`; an absent or empty section keeps
  // every default. Returns the settings the file contains, for rules between them.
  std::vector<Item> ReadSection(const Item& section, const std::vector<Field>& fields) const {
    std::vector<Item> present;
    if (!section.value.IsDefined() || section.value.IsNull()) return present;
    const std::string where =
        section.path.empty() ? "at the top level" : "in '" + section.path + "'";
    if (!section.value.IsMap()) {
      Fail(section, "expected a map" +
                        std::string(section.path.empty() ? " at the top level" : "") +
                        " (with keys " + Join(fields) + "), got " + Describe(section.value));
    }
    for (const auto& entry : section.value) {
      const YAML::Node& key = entry.first;
      if (!key.IsScalar()) {
        FailAt(key.Mark(), "expected a key name " + where + ", got " + Describe(key));
      }
      const std::string& name = key.Scalar();
      const Field* field = nullptr;
      for (const Field& candidate : fields) {
        if (candidate.name == name) field = &candidate;
      }
      if (field == nullptr) {
        FailAt(key.Mark(),
               "unknown key '" + name + "' " + where + " (expected one of: " + Join(fields) + ")");
      }
      for (const Item& seen : present) {
        // yaml-cpp keeps both copies of a repeated key; which one wins would be a guess.
        if (seen.name == name) FailAt(key.Mark(), "duplicate key '" + name + "' " + where);
      }
      Item item{key, entry.second, name, section.path.empty() ? name : section.path + "." + name};
      field->parse(item);
      present.push_back(std::move(item));
    }
    return present;
  }

  // --- Scalars -------------------------------------------------------------------------

  const std::string& Scalar(const Item& item, std::string_view expected) const {
    if (!item.value.IsScalar()) {
      Fail(item, "expected " + std::string(expected) + ", got " + Describe(item.value));
    }
    return item.value.Scalar();
  }

  template <typename T>
  T Check(const Item& item, Result<T> result) const {
    if (!result.ok()) Fail(item, result.status().message());
    return std::move(result).value();
  }

  uint64_t Count(const Item& item) const {
    return Check(item, ParseCount(Scalar(item, "a non-negative integer")));
  }

  uint64_t Size(const Item& item) const { return Check(item, ParseSize(Scalar(item, "a size"))); }

  Duration DurationOf(const Item& item) const {
    return Check(item, ParseDuration(Scalar(item, "a duration")));
  }

  double Number(const Item& item) const {
    const std::string& text = Scalar(item, "a number");
    double value = 0;
    const std::from_chars_result parsed =
        std::from_chars(text.data(), text.data() + text.size(), value);
    // from_chars also reads "inf" and "nan", which no setting can mean.
    if (parsed.ec != std::errc() || parsed.ptr != text.data() + text.size() ||
        !std::isfinite(value)) {
      Fail(item, "expected a number, got " + Describe(item.value));
    }
    return value;
  }

  std::string OneOf(const Item& item, const std::vector<std::string_view>& choices) const {
    std::string list;
    for (std::string_view choice : choices) {
      list += (list.empty() ? "" : ", ") + std::string(choice);
    }
    const std::string& text = Scalar(item, "one of: " + list);
    for (std::string_view choice : choices) {
      if (text == choice) return text;
    }
    Fail(item, "expected one of: " + list + "; got " + Describe(item.value));
  }

  ListenAddress Address(const Item& item) const {
    const std::string& text = Scalar(item, "host:port");
    try {
      return ParseListenAddress(text);
    } catch (const ConfigError& e) {
      Fail(item, e.what());
    }
  }

  uint64_t PositiveCount(const Item& item) const {
    const uint64_t value = Count(item);
    if (value == 0) Fail(item, "must be greater than 0");
    return value;
  }

  uint64_t PositiveSize(const Item& item) const {
    const uint64_t value = Size(item);
    if (value == 0) Fail(item, "must be greater than 0");
    return value;
  }

  Duration PositiveDuration(const Item& item) const {
    const Duration value = DurationOf(item);
    if (value <= Duration::zero()) Fail(item, "must be greater than 0");
    return value;
  }

  // --- Sections ------------------------------------------------------------------------

  void ReadDocument(const Item& document, Config& config) const {
    std::vector<Item> l1_present;
    std::vector<Item> strategies_present;
    ReadSection(document,
                {
                    {"server", [&](const Item& item) { ReadServer(item, config.server); }},
                    {"limits", [&](const Item& item) { ReadLimits(item, config.limits); }},
                    {"l1", [&](const Item& item) { l1_present = ReadL1(item, config.l1); }},
                    {"strategies",
                     [&](const Item& item) {
                       strategies_present = ReadStrategies(item, config.strategies);
                     }},
                    {"logging", [&](const Item& item) { ReadLogging(item, config.logging); }},
                    {"tiers", [&](const Item& item) { ReadTiers(item, config.tiers); }},
                    {"tier_health",
                     [&](const Item& item) { ReadTierHealth(item, config.tier_health); }},
                    {"invalidation",
                     [&](const Item& item) { ReadInvalidation(item, config.invalidation); }},
                    {"coherence",
                     [&](const Item& item) { ReadCoherence(item, config.coherence); }},
                    {"warming", [&](const Item& item) { ReadWarming(item, config.warming); }},
                    {"monitoring",
                     [&](const Item& item) { ReadMonitoring(item, config.monitoring); }},
                    {"scheduler",
                     [&](const Item& item) {
                       ReadSection(item, {{"workers", [&](const Item& i) {
                                             const uint64_t n = PositiveCount(i);
                                             if (n > 64) Fail(i, "must be at most 64");
                                             config.scheduler.workers = static_cast<unsigned>(n);
                                           }}});
                     }},
                    {"namespaces",
                     [&](const Item& item) { ReadNamespaces(item, config.namespaces); }},
                    {"proxy", [&](const Item& item) { ReadProxy(item, config); }},
                });
    // With lower tiers, L1 holds a tenth of the lifetime by default (the seed's 0.1 /
    // 1.0 / 10.0): it is the smallest tier and the one other instances can't invalidate
    // directly. Alone, it keeps the whole lifetime.
    const bool l1_factor_set = std::any_of(l1_present.begin(), l1_present.end(),
                                           [](const Item& i) { return i.name == "ttl_factor"; });
    if (!l1_factor_set && !config.tiers.empty()) config.l1.ttl_factor = 0.1;
    // Expiry times are nanoseconds on a 64-bit steady clock (about 292 years): the longest
    // lifetime L1 can be asked for, max_timeout x ttl_factor, must stay well inside it.
    constexpr double kMaxL1LifetimeSeconds = 100 * 365.25 * 86400;
    const Duration longest =
        std::max(config.strategies.max_timeout, config.strategies.adaptive.max_timeout);
    if (config.l1.ttl_factor * ToSeconds(longest) > kMaxL1LifetimeSeconds) {
      std::vector<Item> present = l1_present;
      present.insert(present.end(), strategies_present.begin(), strategies_present.end());
      FailBetween(present, document, {"ttl_factor", "max_timeout", "adaptive"},
                  "l1.ttl_factor (" + FormatNumber(config.l1.ttl_factor) +
                      ") x the longest timeout (" + FormatDuration(longest) +
                      ", strategies.max_timeout or strategies.adaptive.max_timeout) must be at "
                      "most 100 years");
    }
  }

  void ReadServer(const Item& section, ServerConfig& server) const {
    constexpr uint64_t kMaxIoThreads = 256;
    ReadSection(section,
                {
                    {"http_listen", [&](const Item& item) { server.http_listen = Address(item); }},
                    {"grpc_listen", [&](const Item& item) { server.grpc_listen = Address(item); }},
                    {"resp_listen", [&](const Item& item) {
                       if (Scalar(item, "host:port, or empty to turn it off").empty()) {
                         server.resp_listen.reset();
                       } else {
                         server.resp_listen = Address(item);
                       }
                     }},
                    {"io_threads",
                     [&](const Item& item) {
                       const uint64_t threads = Count(item);
                       if (threads > kMaxIoThreads) {
                         Fail(item, "must be at most " + std::to_string(kMaxIoThreads) +
                                        " (0 = half the CPU cores), got " + std::to_string(threads));
                       }
                       server.io_threads = static_cast<unsigned>(threads);
                     }},
                    {"max_connections",
                     [&](const Item& item) { server.max_connections = PositiveCount(item); }},
                    {"idle_timeout",
                     [&](const Item& item) { server.idle_timeout = PositiveDuration(item); }},
                    {"shutdown_timeout",
                     [&](const Item& item) { server.shutdown_timeout = PositiveDuration(item); }},
                });
  }

  void ReadLimits(const Item& section, Limits& limits) const {
    ReadSection(
        section,
        {
            {"max_key_bytes",
             [&](const Item& item) {
               limits.max_key_bytes = PositiveSize(item);
               // L1 keeps a key's length in 16 bits of its entry header.
               if (limits.max_key_bytes > 65535) Fail(item, "must be at most 65535 bytes");
             }},
            {"max_value_bytes",
             [&](const Item& item) { limits.max_value_bytes = PositiveSize(item); }},
            {"max_request_body_bytes",
             [&](const Item& item) { limits.max_request_body_bytes = PositiveSize(item); }},
            {"max_tags", [&](const Item& item) { limits.max_tags = PositiveCount(item); }},
            {"max_tag_bytes", [&](const Item& item) { limits.max_tag_bytes = PositiveSize(item); }},
            {"max_pattern_bytes",
             [&](const Item& item) { limits.max_pattern_bytes = PositiveSize(item); }},
            {"max_keys_per_request",
             [&](const Item& item) { limits.max_keys_per_request = PositiveCount(item); }},
        });
  }

  std::vector<Item> ReadL1(const Item& section, L1Options& l1) const {
    constexpr uint64_t kMaxShards = 1024;
    constexpr uint64_t kMinShardBytes = 1024;
    constexpr double kMaxTtlFactor = 1000;
    const std::vector<Item> present = ReadSection(
        section,
        {
            {"shards",
             [&](const Item& item) {
               const uint64_t shards = Count(item);
               // Shard selection takes bits of the key's hash, which needs a power of two.
               if (shards < 1 || shards > kMaxShards || (shards & (shards - 1)) != 0) {
                 Fail(item, "must be a power of two in 1.." + std::to_string(kMaxShards) +
                                ", got " + std::to_string(shards));
               }
               l1.shards = static_cast<size_t>(shards);
             }},
            {"max_entries", [&](const Item& item) { l1.max_entries = Count(item); }},
            {"max_bytes", [&](const Item& item) { l1.max_bytes = PositiveSize(item); }},
            {"ttl_factor",
             [&](const Item& item) {
               const double factor = Number(item);
               if (!(factor > 0 && factor <= kMaxTtlFactor)) {
                 Fail(item, "must be greater than 0 and at most 1000, got " + Describe(item.value));
               }
               l1.ttl_factor = factor;
             }},
            {"sweep_interval",
             [&](const Item& item) { l1.sweep_interval = PositiveDuration(item); }},
            {"policy",
             [&](const Item& item) {
               l1.policy = OneOf(item, {"lru", "tinylfu"}) == "lru" ? L1Policy::kLru
                                                                    : L1Policy::kTinyLfu;
             }},
            {"compress_min_bytes",
             [&](const Item& item) { l1.compress_min_bytes = Size(item); }},
            {"compression", [&](const Item& item) { l1.compression = Codec(item, false); }},
            {"hot_set",
             [&](const Item& item) {
               HotSetOptions& hot = l1.hot_set;
               ReadSection(item, {
                                     {"path", [&](const Item& i) { hot.path = Text(i); }},
                                     {"max_keys",
                                      [&](const Item& i) { hot.max_keys = PositiveCount(i); }},
                                     {"restore_timeout",
                                      [&](const Item& i) {
                                        hot.restore_timeout = PositiveDuration(i);
                                      }},
                                 });
               if (hot.path.empty()) Fail(item, "needs a path");
             }},
        });
    // Each shard holds max_entries/shards entries; fewer entries than shards leaves shards
    // that can hold nothing.
    if (l1.max_entries < l1.shards) {
      FailBetween(present, section, {"max_entries", "shards"},
                  "l1.max_entries (" + std::to_string(l1.max_entries) +
                      ") must be at least l1.shards (" + std::to_string(l1.shards) + ")");
    }
    // Likewise for bytes: a shard budget under 1 KiB could hold hardly any entry.
    if (l1.max_bytes < l1.shards * kMinShardBytes) {
      FailBetween(present, section, {"max_bytes", "shards"},
                  "l1.max_bytes (" + std::to_string(l1.max_bytes) + ") must be at least " +
                      std::to_string(kMinShardBytes) + " bytes per shard (l1.shards = " +
                      std::to_string(l1.shards) + ")");
    }
    return present;
  }

  std::vector<Item> ReadStrategies(const Item& section, StrategyOptions& strategies) const {
    const std::vector<Item> present = ReadSection(
        section,
        {
            {"default_timeout",
             [&](const Item& item) { strategies.default_timeout = PositiveDuration(item); }},
            {"default_strategy",
             [&](const Item& item) {
               strategies.default_strategy = OneOf(item, {"ttl", "adaptive"}) == "ttl"
                                                 ? StrategyKind::kTtl
                                                 : StrategyKind::kAdaptive;
             }},
            {"max_timeout",
             [&](const Item& item) { strategies.max_timeout = PositiveDuration(item); }},
            {"adaptive", [&](const Item& item) { ReadAdaptive(item, strategies.adaptive); }},
            {"negative",
             [&](const Item& item) {
               ForEachListed(item, "a list of negative caching rules", [&](const Item& r) {
                 StrategyOptions::NegativeRule rule;
                 rule.ttl = Duration::zero();
                 ReadSection(r, {
                                    {"match",
                                     [&](const Item& i) {
                                       rule.match = Check(i, KeyPattern::Compile(Text(i)));
                                     }},
                                    {"ttl", [&](const Item& i) { rule.ttl = PositiveDuration(i); }},
                                });
                 if (rule.match == nullptr || rule.ttl <= Duration::zero()) {
                   Fail(r, "needs a match (a regular expression over keys) and a ttl");
                 }
                 strategies.negative.push_back(std::move(rule));
               });
             }},
        });
    if (strategies.default_timeout > strategies.max_timeout) {
      FailBetween(present, section, {"default_timeout", "max_timeout"},
                  "strategies.default_timeout (" + FormatDuration(strategies.default_timeout) +
                      ") must not exceed strategies.max_timeout (" +
                      FormatDuration(strategies.max_timeout) + ")");
    }
    return present;
  }

  void ReadAdaptive(const Item& section, AdaptiveOptions& adaptive) const {
    const std::vector<Item> present = ReadSection(
        section, {
                     {"base_timeout",
                      [&](const Item& item) { adaptive.base_timeout = PositiveDuration(item); }},
                     {"min_timeout",
                      [&](const Item& item) { adaptive.min_timeout = PositiveDuration(item); }},
                     {"max_timeout",
                      [&](const Item& item) { adaptive.max_timeout = PositiveDuration(item); }},
                 });
    if (adaptive.min_timeout > adaptive.base_timeout) {
      FailBetween(present, section, {"min_timeout", "base_timeout"},
                  "strategies.adaptive.min_timeout (" + FormatDuration(adaptive.min_timeout) +
                      ") must not exceed strategies.adaptive.base_timeout (" +
                      FormatDuration(adaptive.base_timeout) + ")");
    }
    if (adaptive.base_timeout > adaptive.max_timeout) {
      FailBetween(present, section, {"base_timeout", "max_timeout"},
                  "strategies.adaptive.base_timeout (" + FormatDuration(adaptive.base_timeout) +
                      ") must not exceed strategies.adaptive.max_timeout (" +
                      FormatDuration(adaptive.max_timeout) + ")");
    }
  }

  void ReadLogging(const Item& section, LoggingConfig& logging) const {
    ReadSection(section, {
                             {"level",
                              [&](const Item& item) {
                                // spdlog's level names, so main can hand the string straight to it.
                                logging.level = OneOf(item, {"trace", "debug", "info", "warn",
                                                             "error", "critical", "off"});
                              }},
                             {"format",
                              [&](const Item& item) {
                                logging.format = OneOf(item, {"text", "json"}) == "text"
                                                     ? LogFormat::kText
                                                     : LogFormat::kJson;
                              }},
                         });
  }

  // --- Settings of components that read their own keys (core/settings.h) ---------------

  // One value, read with the loader's own rules and messages.
  class ItemSetting final : public Setting {
   public:
    ItemSetting(const Loader& loader, const Item& item) : loader_(loader), item_(item) {}

    std::string_view name() const override { return item_.name; }
    std::string Text() const override { return loader_.Text(item_); }
    std::vector<std::string> Texts() const override { return loader_.Texts(item_); }
    uint64_t Count(uint64_t min, uint64_t max) const override {
      const uint64_t value = loader_.Count(item_);
      if (value < min) {
        loader_.Fail(item_, min == 1 ? std::string("must be greater than 0")
                                     : "must be at least " + std::to_string(min));
      }
      if (value > max) loader_.Fail(item_, "must be at most " + std::to_string(max));
      return value;
    }
    uint64_t PositiveSize() const override { return loader_.PositiveSize(item_); }
    Duration PositiveDuration() const override { return loader_.PositiveDuration(item_); }
    double Number() const override { return loader_.Number(item_); }
    bool Bool() const override { return loader_.Bool(item_); }
    std::string Identifier(size_t max_length) const override {
      return loader_.Identifier(item_, max_length);
    }
    std::string OneOf(std::initializer_list<std::string_view> choices) const override {
      return loader_.OneOf(item_, std::vector<std::string_view>(choices));
    }
    void Fields(const std::vector<SettingField>& fields) const override {
      loader_.ReadSection(item_, loader_.FieldsOf(fields));
    }
    void ForEach(const std::function<void(const Setting&)>& read) const override {
      loader_.ForEachListed(item_, "a list",
                            [&](const Item& listed) { read(ItemSetting(loader_, listed)); });
    }
    [[noreturn]] void Fail(std::string_view message) const override {
      loader_.Fail(item_, std::string(message));
    }

   private:
    const Loader& loader_;
    const Item& item_;
  };

  // A section whose owner reads some keys (`own`) and a component the rest.
  class ItemSection final : public SettingsReader {
   public:
    ItemSection(const Loader& loader, const Item& section, std::vector<Field> own)
        : loader_(loader), section_(section), own_(std::move(own)) {}

    std::string_view path() const override { return section_.path; }
    void Read(const std::vector<SettingField>& fields) const override {
      if (read_) loader_.Fail(section_, "read twice");  // a component's mistake, not the file's
      read_ = true;
      std::vector<Field> all = own_;
      for (Field& field : loader_.FieldsOf(fields)) all.push_back(std::move(field));
      loader_.ReadSection(section_, all);
    }
    [[noreturn]] void Fail(std::string_view message) const override {
      loader_.Fail(section_, std::string(message));
    }
    bool read() const { return read_; }

   private:
    const Loader& loader_;
    const Item& section_;
    std::vector<Field> own_;
    mutable bool read_ = false;
  };

  std::vector<Field> FieldsOf(const std::vector<SettingField>& fields) const {
    std::vector<Field> out;
    out.reserve(fields.size());
    for (const SettingField& field : fields) {
      out.push_back({field.name, [this, read = field.read](const Item& item) {
                       read(ItemSetting(*this, item));
                     }});
    }
    return out;
  }

  // "redis or postgres", "redis, postgres or edge".
  std::string KindList() const {
    std::string list;
    for (size_t i = 0; i < kinds_.size(); ++i) {
      if (i > 0) list += i + 1 == kinds_.size() ? " or " : ", ";
      list += kinds_[i]->name();
    }
    return list;
  }

  // --- Tiers ---------------------------------------------------------------------------

  void ReadTierHealth(const Item& section, TierHealthOptions& health) const {
    ReadSection(section, {{"interval", [&](const Item& item) {
                             health.interval = PositiveDuration(item);
                           }}});
  }

  std::string Text(const Item& item) const {
    const std::string& text = Scalar(item, "a string");
    if (text.empty()) Fail(item, "must not be empty");
    return text;
  }

  // A sequence item by item, each with its path ("models[2]"); fails on anything else.
  template <class Read>
  void ForEachListed(const Item& section, std::string_view expected, Read read) const {
    if (section.value.IsNull()) return;
    if (!section.value.IsSequence()) {
      Fail(section, "expected " + std::string(expected) + ", got " + Describe(section.value));
    }
    for (size_t i = 0; i < section.value.size(); ++i) {
      read(Item{section.value[i], section.value[i], "",
                section.path + "[" + std::to_string(i) + "]"});
    }
  }

  std::vector<std::string> Texts(const Item& section) const {
    std::vector<std::string> out;
    ForEachListed(section, "a list of strings", [&](const Item& item) { out.push_back(Text(item)); });
    return out;
  }

  void ReadInvalidation(const Item& section, InvalidationConfig& invalidation) const {
    ReadSection(section,
                {
                    {"models",
                     [&](const Item& item) {
                       std::vector<ModelRule> rules;
                       ForEachListed(item, "a list of model rules", [&](const Item& rule) {
                         rules.push_back(ReadModelRule(rule));
                       });
                       invalidation.models = Check(item, ModelRules::Make(std::move(rules)));
                     }},
                    {"listen",
                     [&](const Item& item) {
                       auto& listen = invalidation.listen.emplace();
                       ReadSection(item, {
                                             {"dsn", [&](const Item& i) { listen.dsn = Text(i); }},
                                             {"channel",
                                              [&](const Item& i) {
                                                listen.channel = Identifier(i, 63);
                                              }},
                                         });
                       if (listen.dsn.empty()) Fail(item, "needs a dsn");
                     }},
                });
  }

  void ReadMonitoring(const Item& section, MonitoringConfig& monitoring) const {
    ReadSection(
        section,
        {
            {"enabled", [&](const Item& item) { monitoring.enabled = Bool(item); }},
            {"key_patterns",
             [&](const Item& item) {
               ForEachListed(item, "a list of key patterns", [&](const Item& p) {
                 KeyGroupPattern pattern;
                 ReadSection(p, {
                                    {"name", [&](const Item& i) { pattern.name = Text(i); }},
                                    {"match",
                                     [&](const Item& i) {
                                       pattern.pattern = Check(i, KeyPattern::Compile(Text(i)));
                                     }},
                                });
                 if (pattern.name.empty() || pattern.pattern == nullptr) {
                   Fail(p, "needs a name and a match (a regular expression over keys)");
                 }
                 for (const auto& other : monitoring.key_patterns) {
                   if (other.name == pattern.name) {
                     Fail(p, "two key patterns are named '" + pattern.name + "'");
                   }
                 }
                 monitoring.key_patterns.push_back(std::move(pattern));
               });
             }},
            {"max_patterns",
             [&](const Item& item) {
               const uint64_t n = PositiveCount(item);
               if (n < 2 || n > KeyStats::kMaxGroups) {
                 Fail(item, "must be between 2 and " + std::to_string(KeyStats::kMaxGroups));
               }
               monitoring.max_patterns = n;
             }},
            {"miss_history",
             [&](const Item& item) {
               const uint64_t n = Count(item);
               if (n > 10'000'000) Fail(item, "must be at most 10000000");
               monitoring.miss_history = n;
             }},
        });
    if (monitoring.key_patterns.size() + 1 > monitoring.max_patterns) {
      Fail(section, "max_patterns must exceed the number of key_patterns (one series is "
                    "\"other\")");
    }
  }

  void ReadWarming(const Item& section, WarmingConfig& warming) const {
    ReadSection(section,
                {
                    {"max_concurrent_runs",
                     [&](const Item& item) {
                       const uint64_t n = PositiveCount(item);
                       if (n > 64) Fail(item, "must be at most 64");
                       warming.max_concurrent_runs = static_cast<unsigned>(n);
                     }},
                    {"busy_requests_per_second",
                     [&](const Item& item) { warming.busy_requests_per_second = Count(item); }},
                    {"busy_share",
                     [&](const Item& item) {
                       const double share = Number(item);
                       if (!(share > 0 && share <= 1)) Fail(item, "must be in (0, 1]");
                       warming.busy_share = share;
                     }},
                    {"sources",
                     [&](const Item& item) {
                       ForEachListed(item, "a list of warming sources", [&](const Item& s) {
                         WarmSourceConfig source = ReadWarmSource(s);
                         for (const auto& other : warming.sources) {
                           if (other.options.name == source.options.name) {
                             Fail(s, "two warming sources are named '" + source.options.name + "'");
                           }
                         }
                         warming.sources.push_back(std::move(source));
                       });
                     }},
                });
  }

  WarmSourceConfig ReadWarmSource(const Item& section) const {
    if (!section.value.IsMap() || !section.value["type"].IsDefined()) {
      Fail(section, "expected a map with a name and a type (sql, http, hot or view)");
    }
    const YAML::Node type = section.value["type"];
    const Item type_item{type, type, "type", section.path + ".type"};
    WarmSourceConfig c;
    const std::string type_name = OneOf(type_item, {"sql", "http", "hot", "view"});
    c.type = type_name == "sql"    ? WarmSourceType::kSql
             : type_name == "http" ? WarmSourceType::kHttp
             : type_name == "hot"  ? WarmSourceType::kHot
                                   : WarmSourceType::kView;
    WarmSourceOptions& o = c.options;
    std::vector<Field> fields = {
        {"type", [](const Item&) {}},
        {"name", [&](const Item& item) { o.name = Text(item); }},
        {"interval", [&](const Item& item) { o.interval = PositiveDuration(item); }},
        {"on_start", [&](const Item& item) { o.on_start = Bool(item); }},
        {"max_keys_per_second", [&](const Item& item) { o.max_keys_per_second = Count(item); }},
        {"max_in_flight",
         [&](const Item& item) {
           o.max_in_flight = static_cast<unsigned>(std::min<uint64_t>(PositiveCount(item), 65536));
         }},
        {"tiers", [&](const Item& item) { o.tiers = Texts(item); }},
        {"ttl", [&](const Item& item) { c.ttl = PositiveDuration(item); }},
    };
    if (c.type == WarmSourceType::kSql || c.type == WarmSourceType::kHttp) {
      fields.push_back({"key", [&](const Item& item) {
                          (c.type == WarmSourceType::kSql ? c.sql.key : c.http.key) = Text(item);
                        }});
    }
    if (c.type == WarmSourceType::kHot) {
      // Hot keys already live in the lower tiers: by default only L1 is filled.
      o.tiers = {"L1"};
      fields.push_back({"top", [&](const Item& item) {
                          c.hot_top = std::min<uint64_t>(PositiveCount(item), 1'000'000);
                        }});
    } else if (c.type == WarmSourceType::kView) {
      fields.insert(fields.end(), {
          {"paths",
           [&](const Item& item) {
             ForEachListed(item, "a list of paths", [&](const Item& p) {
               c.view.paths.push_back(ReadViewPath(p));
             });
           }},
          {"variants",
           [&](const Item& item) {
             ForEachListed(item, "a list of header maps", [&](const Item& v) {
               c.view.variants.push_back(HeaderMap(v));
             });
           }},
          {"timeout", [&](const Item& item) { c.view.timeout = PositiveDuration(item); }},
      });
    } else if (c.type == WarmSourceType::kSql) {
      fields.insert(fields.end(), {
          {"dsn", [&](const Item& item) { c.sql.dsn = Text(item); }},
          {"query", [&](const Item& item) { c.sql.query = Text(item); }},
          {"tags", [&](const Item& item) { c.sql.tags = Texts(item); }},
          {"value_column", [&](const Item& item) { c.sql.value_column = Text(item); }},
          {"batch_rows", [&](const Item& item) { c.sql.batch_rows = PositiveCount(item); }},
          {"connect_timeout", [&](const Item& item) { c.sql.connect_timeout = PositiveDuration(item); }},
          {"statement_timeout",
           [&](const Item& item) { c.sql.statement_timeout = PositiveDuration(item); }},
      });
    } else {
      fields.insert(fields.end(), {
          {"base_url", [&](const Item& item) { c.http.base_url = Text(item); }},
          {"endpoints",
           [&](const Item& item) {
             ForEachListed(item, "a list of endpoints", [&](const Item& e) {
               c.http.endpoints.push_back(ReadEndpoint(e));
             });
           }},
          {"max_attempts",
           [&](const Item& item) {
             c.http.max_attempts = static_cast<unsigned>(std::min<uint64_t>(PositiveCount(item), 100));
           }},
          {"backoff", [&](const Item& item) { c.http.backoff = PositiveDuration(item); }},
          {"timeout", [&](const Item& item) { c.http.timeout = PositiveDuration(item); }},
          {"max_body_bytes", [&](const Item& item) { c.http.max_body_bytes = PositiveSize(item); }},
          {"concurrency",
           [&](const Item& item) {
             c.http.concurrency = static_cast<unsigned>(std::min<uint64_t>(PositiveCount(item), 64));
           }},
      });
    }
    ReadSection(section, fields);
    if (o.name.empty()) Fail(section, "every warming source needs a name");
    if (c.type == WarmSourceType::kView && c.view.paths.empty()) {
      Fail(section, "a view warming source needs paths");
    }
    c.sql.ttl = c.ttl;
    c.http.ttl = c.ttl;
    return c;
  }

  // {NAME: VALUE, ...}
  HeaderList HeaderMap(const Item& item) const {
    if (!item.value.IsMap()) Fail(item, "expected a map of NAME: VALUE");
    HeaderList headers;
    for (const auto& entry : item.value) {
      const std::string name = entry.first.as<std::string>();
      const Item header{entry.first, entry.second, name, item.path + "." + name};
      headers.emplace_back(name, Text(header));
    }
    return headers;
  }

  // A path, or {path, headers: {NAME: VALUE}}.
  ViewWarmOptions::Path ReadViewPath(const Item& section) const {
    ViewWarmOptions::Path p;
    if (section.value.IsScalar()) {
      p.path = Text(section);
    } else {
      ReadSection(section, {
                               {"path", [&](const Item& i) { p.path = Text(i); }},
                               {"headers", [&](const Item& i) { p.headers = HeaderMap(i); }},
                           });
    }
    if (p.path.empty() || p.path.front() != '/') Fail(section, "a path starts with '/'");
    return p;
  }

  // A path, or {path, method, headers: {NAME: VALUE}, key, name, tags}.
  HttpWarmEndpoint ReadEndpoint(const Item& section) const {
    HttpWarmEndpoint e;
    if (section.value.IsScalar()) {
      e.path = Text(section);
      return e;
    }
    ReadSection(section, {
                             {"path", [&](const Item& item) { e.path = Text(item); }},
                             {"method", [&](const Item& item) { e.method = Text(item); }},
                             {"key", [&](const Item& item) { e.key = Text(item); }},
                             {"name", [&](const Item& item) { e.name = Text(item); }},
                             {"tags", [&](const Item& item) { e.tags = Texts(item); }},
                             {"headers",
                              [&](const Item& item) {
                                if (!item.value.IsMap()) Fail(item, "expected a map of NAME: VALUE");
                                for (const auto& entry : item.value) {
                                  const std::string name = entry.first.as<std::string>();
                                  const Item header{entry.first, entry.second, name,
                                                    item.path + "." + name};
                                  e.headers.emplace_back(name, Text(header));
                                }
                              }},
                         });
    if (e.path.empty()) Fail(section, "an endpoint needs a path");
    return e;
  }

  void ReadCoherence(const Item& section, CoherenceConfig& coherence) const {
    ReadSection(section,
                {
                    {"enabled", [&](const Item& item) { coherence.enabled = Bool(item); }},
                    {"url", [&](const Item& item) { coherence.url = Text(item); }},
                    {"channel", [&](const Item& item) { coherence.channel = Text(item); }},
                    {"max_staleness",
                     [&](const Item& item) { coherence.max_staleness = PositiveDuration(item); }},
                    {"instance_id", [&](const Item& item) { coherence.instance_id = Text(item); }},
                });
  }

  // A lower-case SQL identifier of at most `max` characters.
  std::string Identifier(const Item& item, size_t max) const {
    std::string text = Text(item);
    const bool valid = text.size() <= max && !(text[0] >= '0' && text[0] <= '9') &&
                       std::all_of(text.begin(), text.end(), [](char c) {
                         return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                       });
    if (!valid) {
      Fail(item, "must be a lower-case SQL identifier ([a-z_][a-z0-9_]*, at most " +
                     std::to_string(max) + " characters), got " + Describe(item.value));
    }
    return text;
  }

  ModelRule ReadModelRule(const Item& section) const {
    if (!section.value.IsMap()) {
      Fail(section, "expected a map with a model, got " + Describe(section.value));
    }
    ModelRule rule;
    ReadSection(section,
                {
                    {"model", [&](const Item& item) { rule.model = Text(item); }},
                    {"on",
                     [&](const Item& item) {
                       rule.on.clear();
                       ForEachListed(item, "a list of events (save, delete)", [&](const Item& e) {
                         const ModelEvent event = Check(e, ParseModelEvent(Text(e)));
                         if (std::find(rule.on.begin(), rule.on.end(), event) == rule.on.end()) {
                           rule.on.push_back(event);
                         }
                       });
                       if (rule.on.empty()) Fail(item, "must name at least one event");
                     }},
                    {"keys", [&](const Item& item) { rule.keys = Texts(item); }},
                    {"tags", [&](const Item& item) { rule.tags = Texts(item); }},
                    {"patterns", [&](const Item& item) { rule.patterns = Texts(item); }},
                    {"related",
                     [&](const Item& item) {
                       ForEachListed(item, "a list of related models", [&](const Item& r) {
                         rule.related.push_back(ReadRelatedModel(r));
                       });
                     }},
                    {"cascade", [&](const Item& item) { rule.cascade = Bool(item); }},
                });
    if (rule.model.empty()) Fail(section, "every model rule needs a model");
    return rule;
  }

  // A model name, or {model: NAME, fields: {FIELD: TEMPLATE, ...}}.
  RelatedModel ReadRelatedModel(const Item& section) const {
    RelatedModel related;
    if (section.value.IsScalar()) {
      related.model = Text(section);
      return related;
    }
    ReadSection(section, {
                             {"model", [&](const Item& item) { related.model = Text(item); }},
                             {"fields",
                              [&](const Item& item) {
                                if (!item.value.IsMap()) {
                                  Fail(item, "expected a map of field: template, got " +
                                                 Describe(item.value));
                                }
                                for (const auto& entry : item.value) {
                                  const Item field{entry.first, entry.second,
                                                   entry.first.as<std::string>(),
                                                   item.path + "." + entry.first.as<std::string>()};
                                  related.fields[field.name] = Text(field);
                                }
                              }},
                         });
    if (related.model.empty()) Fail(section, "a related model needs a model");
    return related;
  }

  void ReadTiers(const Item& section, std::vector<TierConfig>& tiers) const {
    if (section.value.IsNull()) return;
    if (!section.value.IsSequence()) {
      Fail(section, "expected a list of tiers (each a map with a type), got " +
                        Describe(section.value));
    }
    constexpr size_t kMaxTiers = 8;
    for (size_t i = 0; i < section.value.size(); ++i) {
      const Item item{section.value[i], section.value[i], "",
                      section.path + "[" + std::to_string(i) + "]"};
      if (i == kMaxTiers) Fail(item, "at most " + std::to_string(kMaxTiers) + " tiers");
      TierConfig tier = ReadTier(item, i);
      for (const TierConfig& other : tiers) {
        if (other.name == tier.name) Fail(item, "duplicate tier name '" + tier.name + "'");
      }
      tiers.push_back(std::move(tier));
    }
  }

  TierConfig ReadTier(const Item& section, size_t index) const {
    if (!section.value.IsMap()) {
      Fail(section,
           "expected a map with a type (" + KindList() + "), got " + Describe(section.value));
    }
    TierConfig tier;
    tier.name = "L" + std::to_string(index + 2);
    // The seed's factors: L2 keeps the timeout, L3 and below ten times it.
    tier.options.ttl_factor = index == 0 ? 1.0 : 10.0;
    const YAML::Node type = section.value["type"];
    if (!type.IsDefined()) Fail(section, "every tier needs a type: " + KindList());
    const Item type_item{type, type, "type", section.path + ".type"};
    std::vector<std::string_view> names;
    for (const TierKind* kind : kinds_) names.push_back(kind->name());
    tier.kind = FindTierKind(kinds_, OneOf(type_item, names));

    // The keys every tier has; its kind reads the rest.
    std::vector<Field> common = {
        {"type", [](const Item&) {}},
        {"name",
         [&](const Item& item) {
           tier.name = Text(item);
           if (tier.name == "L1") Fail(item, "L1 is the in-memory tier; choose another name");
         }},
        {"ttl_factor",
         [&](const Item& item) {
           const double factor = Number(item);
           if (!(factor > 0 && factor <= 1000)) {
             Fail(item, "must be greater than 0 and at most 1000, got " + Describe(item.value));
           }
           tier.options.ttl_factor = factor;
         }},
        {"write_mode",
         [&](const Item& item) {
           tier.options.write_mode =
               OneOf(item, {"sync", "async"}) == "sync" ? WriteMode::kSync : WriteMode::kAsync;
         }},
        {"required", [&](const Item& item) { tier.options.required = Bool(item); }},
        {"failure_threshold",
         [&](const Item& item) {
           tier.options.failure_threshold = static_cast<uint32_t>(
               std::min<uint64_t>(PositiveCount(item), UINT32_MAX));
         }},
        {"write_behind",
         [&](const Item& item) { ReadWriteBehind(item, tier.options.write_behind); }},
        {"compression",
         [&](const Item& item) { tier.options.compression.codec = Codec(item, true); }},
        {"compress_min_bytes",
         [&](const Item& item) { tier.options.compression.min_bytes = PositiveSize(item); }},
    };
    const ItemSection reader(*this, section, std::move(common));
    tier.settings = tier.kind->Read(reader);
    if (!reader.read()) reader.Read({});  // a kind without keys of its own
    return tier;
  }

  void ReadNamespaces(const Item& section, std::vector<NamespaceConfig>& out) const {
    constexpr size_t kMaxNameBytes = 64;
    constexpr size_t kMaxPrefixBytes = 128;
    ForEachListed(section, "a list of namespaces", [&](const Item& listed) {
      NamespaceConfig ns;
      bool has_name = false;
      ReadSection(listed,
                  {
                      {"name",
                       [&](const Item& i) {
                         ns.name = Text(i);
                         const bool valid =
                             ns.name.size() <= kMaxNameBytes &&
                             std::all_of(ns.name.begin(), ns.name.end(), [](char c) {
                               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                      (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
                             });
                         if (!valid) {
                           Fail(i, "a namespace name is 1 to 64 of A-Z a-z 0-9 _ - ., got " +
                                       Describe(i.value));
                         }
                         has_name = true;
                       }},
                      {"prefix",
                       [&](const Item& i) {
                         ns.prefix = Text(i);
                         if (ns.prefix.size() > kMaxPrefixBytes) Fail(i, "at most 128 bytes");
                       }},
                      {"version", [&](const Item& i) { ns.version = PositiveCount(i); }},
                  });
      if (!has_name) Fail(listed, "every namespace needs a name");
      if (ns.prefix.empty()) ns.prefix = ns.name + ":";
      for (size_t j = 0; j < out.size(); ++j) {
        if (out[j].name == ns.name) Fail(listed, "duplicate namespace '" + ns.name + "'");
        // A stored key must tell which namespace it is in.
        if (out[j].prefix.starts_with(ns.prefix) || ns.prefix.starts_with(out[j].prefix)) {
          Fail(listed, "the prefix '" + ns.prefix + "' of namespace '" + ns.name +
                           "' and the prefix '" + out[j].prefix + "' of namespace '" +
                           out[j].name + "' must not start one another");
        }
      }
      out.push_back(std::move(ns));
    });
  }

  // --- The caching reverse proxy ------------------------------------------------------

  void ReadProxy(const Item& section, Config& config) const {
    ProxyConfig& proxy = config.proxy;
    ReadSection(section,
                {
                    {"listen",
                     [&](const Item& item) {
                       if (Scalar(item, "host:port, or empty to turn it off").empty()) {
                         proxy.listen.reset();
                       } else {
                         proxy.listen = Address(item);
                       }
                     }},
                    {"routes",
                     [&](const Item& item) {
                       ForEachListed(item, "a list of routes", [&](const Item& listed) {
                         proxy.options.routes.push_back(ReadProxyRoute(listed));
                         const auto& routes = proxy.options.routes;
                         for (size_t i = 0; i + 1 < routes.size(); ++i) {
                           if (routes[i].name == routes.back().name) {
                             Fail(listed, "duplicate route name '" + routes.back().name + "'");
                           }
                         }
                       });
                     }},
                    {"max_cached_body_bytes",
                     [&](const Item& item) {
                       proxy.options.max_cached_body_bytes = PositiveSize(item);
                       if (proxy.options.max_cached_body_bytes > config.limits.max_value_bytes) {
                         Fail(item, "must be at most limits.max_value_bytes (" +
                                        std::to_string(config.limits.max_value_bytes) + ")");
                       }
                     }},
                    {"max_body_bytes",
                     [&](const Item& item) { proxy.options.max_body_bytes = PositiveSize(item); }},
                    {"max_origin_header_bytes",
                     [&](const Item& item) {
                       proxy.options.max_origin_header_bytes = static_cast<uint32_t>(
                           std::min<uint64_t>(PositiveSize(item), UINT32_MAX));
                     }},
                });
    if (proxy.listen && proxy.options.routes.empty()) {
      Fail(section, "proxy.listen is set but no route is: add proxy.routes");
    }
  }

  std::shared_ptr<const PathPattern> Pattern(const Item& item) const {
    return Check(item, PathPattern::Compile(Text(item)));
  }

  ProxyRoute ReadProxyRoute(const Item& section) const {
    ProxyRoute r;
    ReadSection(
        section,
        {
            {"name", [&](const Item& i) { r.name = Identifier(i, 64); }},
            {"path_prefix",
             [&](const Item& i) {
               r.path_prefix = Text(i);
               if (r.path_prefix.front() != '/') Fail(i, "a path prefix starts with '/'");
             }},
            {"path_pattern", [&](const Item& i) { r.path_pattern = Pattern(i); }},
            {"origin",
             [&](const Item& i) {
               r.origin = Text(i);
               if (!r.origin.starts_with("http://")) {
                 Fail(i, "expected http://host[:port][/prefix], got " + Describe(i.value));
               }
             }},
            {"timeout",
             [&](const Item& i) { r.timeout = DurationOf(i); }},
            {"vary_on",
             [&](const Item& i) {
               for (const std::string& name : Texts(i)) r.vary_on.push_back(LowerCase(name));
             }},
            {"vary_on_auth",
             [&](const Item& i) {
               const std::string& text = Scalar(i, "true, false or cookie:NAME");
               if (text == "true" || text == "authorization") {
                 r.vary_on_auth = "authorization";
               } else if (text == "false") {
                 r.vary_on_auth.clear();
               } else if (text.starts_with("cookie:") && text.size() > 7) {
                 r.vary_on_auth = text;
               } else {
                 Fail(i, "expected true (the Authorization header), false or cookie:NAME, got " +
                             Describe(i.value));
               }
             }},
            {"vary_on_params",
             [&](const Item& i) {
               if (i.value.IsSequence()) {
                 r.vary_params = VaryParams::kList;
                 r.vary_param_names = Texts(i);
               } else {
                 const std::string choice = OneOf(i, {"all", "none", "true", "false"});
                 r.vary_params =
                     choice == "all" || choice == "true" ? VaryParams::kAll : VaryParams::kNone;
               }
             }},
            {"cache_errors", [&](const Item& i) { r.cache_errors = Bool(i); }},
            {"cache_set_cookie", [&](const Item& i) { r.cache_set_cookie = Bool(i); }},
            {"pass_host", [&](const Item& i) { r.pass_host = Bool(i); }},
            {"cache_methods",
             [&](const Item& i) {
               r.cache_methods.clear();
               ForEachListed(i, "a list of methods", [&](const Item& m) {
                 r.cache_methods.push_back(OneOf(m, {"GET", "HEAD"}));
               });
             }},
            {"bypass",
             [&](const Item& i) {
               ForEachListed(i, "a list of conditions",
                             [&](const Item& c) { r.bypass.push_back(ReadCondition(c)); });
             }},
            {"only_if",
             [&](const Item& i) {
               ForEachListed(i, "a list of conditions",
                             [&](const Item& c) { r.only_if.push_back(ReadCondition(c)); });
             }},
            {"tags", [&](const Item& i) { r.tags = Texts(i); }},
            {"stale_while_revalidate",
             [&](const Item& i) { r.stale_while_revalidate = DurationOf(i); }},
            {"stale_if_error", [&](const Item& i) { r.stale_if_error = DurationOf(i); }},
            {"key_prefix",
             [&](const Item& i) {
               r.key_prefix = Text(i);
               if (r.key_prefix.size() > 128) Fail(i, "at most 128 bytes");
             }},
            {"connect_timeout", [&](const Item& i) { r.connect_timeout = PositiveDuration(i); }},
            {"origin_timeout", [&](const Item& i) { r.origin_timeout = PositiveDuration(i); }},
            {"max_idle_connections",
             [&](const Item& i) {
               r.max_idle_connections =
                   static_cast<uint32_t>(std::min<uint64_t>(Count(i), 100000));
             }},
        });
    if (r.name.empty()) Fail(section, "every route needs a name");
    if (r.origin.empty()) Fail(section, "route '" + r.name + "' needs an origin");
    if (r.path_prefix.empty() == (r.path_pattern == nullptr)) {
      Fail(section, "route '" + r.name + "' needs one of path_prefix and path_pattern");
    }
    return r;
  }

  // {header: NAME, matches: RE} | {cookie: NAME[, matches]} | {query: NAME[, matches]} |
  // {path: RE}
  ProxyCondition ReadCondition(const Item& section) const {
    ProxyCondition c;
    int subjects = 0;
    const auto subject = [&](ProxyCondition::Subject s) {
      return [&, s](const Item& i) {
        c.subject = s;
        c.name = s == ProxyCondition::Subject::kHeader ? LowerCase(Text(i)) : Text(i);
        ++subjects;
      };
    };
    ReadSection(section,
                {
                    {"header", subject(ProxyCondition::Subject::kHeader)},
                    {"cookie", subject(ProxyCondition::Subject::kCookie)},
                    {"query", subject(ProxyCondition::Subject::kQuery)},
                    {"path",
                     [&](const Item& i) {
                       c.subject = ProxyCondition::Subject::kPath;
                       c.matches = Pattern(i);
                       ++subjects;
                     }},
                    {"matches", [&](const Item& i) { c.matches = Pattern(i); }},
                });
    if (subjects != 1) {
      Fail(section, "a condition names one of header, cookie, query or path");
    }
    c.source = section.path;
    return c;
  }

  void ReadWriteBehind(const Item& section, WriteBehindOptions& wb) const {
    const std::vector<Item> present = ReadSection(
        section,
        {
            {"capacity", [&](const Item& item) { wb.capacity = PositiveCount(item); }},
            {"batch_size", [&](const Item& item) { wb.batch_size = PositiveCount(item); }},
            {"overflow",
             [&](const Item& item) {
               wb.overflow = OneOf(item, {"drop_oldest", "drop_newest"}) == "drop_oldest"
                                 ? OverflowPolicy::kDropOldest
                                 : OverflowPolicy::kDropNewest;
             }},
        });
    if (wb.batch_size > wb.capacity) {
      FailBetween(present, section, {"batch_size", "capacity"},
                  section.path + ".batch_size (" + std::to_string(wb.batch_size) +
                      ") must not exceed capacity (" + std::to_string(wb.capacity) + ")");
    }
  }

  CompressionCodec Codec(const Item& item, bool none_allowed) const {
    std::vector<std::string_view> names = {"zstd", "lz4"};
    if (none_allowed) names.insert(names.begin(), "none");
    return *CompressionCodecNamed(OneOf(item, names));
  }

  bool Bool(const Item& item) const {
    const std::string text = OneOf(item, {"true", "false"});
    return text == "true";
  }

  std::string_view source_name_;
  const TierKinds& kinds_;
};

}  // namespace

Config LoadConfigString(std::string_view yaml, std::string_view source_name,
                        const TierKinds& kinds) {
  return Loader(source_name, kinds).Load(yaml);
}

Config LoadConfigFile(const std::string& path, const TierKinds& kinds) {
  const auto cannot_read = [&path](int error) {
    return ConfigError(path + ": cannot read: " + std::strerror(error));
  };
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                             &std::fclose);
  if (file == nullptr) throw cannot_read(errno);
  std::string text;
  char buffer[1 << 16];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file.get())) > 0) text.append(buffer, n);
  // A directory opens fine and fails on the first read (EISDIR).
  if (std::ferror(file.get())) throw cannot_read(errno);
  return LoadConfigString(text, path, kinds);
}

}  // namespace tiercache::config
