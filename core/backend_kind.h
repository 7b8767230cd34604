#pragma once

#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "core/settings.h"
#include "core/status.h"

namespace tiercache {

class CoherenceBus;
class JobStore;
class Tier;

// The settings of one lower tier, as its kind read them. Only the kind that made them
// knows their type (TierSettingsOf<Options>); everyone else passes them back to it.
class TierSettings {
 public:
  virtual ~TierSettings() = default;
};

// The usual settings: a backend's options struct (RedisTierOptions, ...).
template <class Options>
class TierSettingsOf final : public TierSettings {
 public:
  explicit TierSettingsOf(Options options) : options(std::move(options)) {}
  const Options options;
};

// `settings`' options if they are an `Options`, else nullptr.
template <class Options>
const Options* SettingsAs(const TierSettings& settings) {
  const auto* typed = dynamic_cast<const TierSettingsOf<Options>*>(&settings);
  return typed == nullptr ? nullptr : &typed->options;
}

// One kind of lower tier (the `type:` of a `tiers:` entry: redis, postgres, ...): how its
// settings are read, shown and turned into a Tier. A kind is a stateless singleton that
// lives as long as the program; tiers/backend_kinds.h lists them. Its methods may be
// called from any thread.
//
// The settings every tier has (type, name, ttl_factor, write_mode, required,
// failure_threshold, write_behind) are read and shown by the configuration itself; a kind
// sees only its own.
class TierKind {
 public:
  virtual ~TierKind() = default;

  // The YAML `type`, e.g. "redis".
  virtual std::string_view name() const = 0;

  // Reads the kind's own keys of one `tiers:` entry (section.Read, called once). Start-up
  // only: errors throw through `section`. Never null.
  virtual std::shared_ptr<const TierSettings> Read(const SettingsReader& section) const = 0;

  // Makes the tier called `tier_name` from settings this kind read. Connecting happens in
  // the background; only settings the backend rejects fail here (kInvalidArgument).
  virtual Result<std::unique_ptr<Tier>> Build(std::string_view tier_name,
                                              const TierSettings& settings) const = 0;

  // Writes every setting Read reads, defaults included, under the same names.
  virtual void Show(const TierSettings& settings, SettingsWriter& out) const = 0;

  // Capabilities, not offered unless a kind says otherwise.

  // Whether instances sharing this tier's server can keep their L1s coherent over it; the
  // first tier whose kind offers it carries `coherence:` when that gives no url.
  virtual bool OffersCoherenceBus() const;
  // The coherence bus on `channel` over the server of a tier with `settings`. Called only
  // when OffersCoherenceBus.
  virtual Result<std::unique_ptr<CoherenceBus>> MakeCoherenceBus(const TierSettings& settings,
                                                                 std::string_view channel) const;

  // Whether scheduled invalidations can be kept in this tier's store; the first tier whose
  // kind offers it keeps them.
  virtual bool OffersJobStore() const;
  // The job store next to a tier with `settings`. Called only when OffersJobStore.
  virtual Result<std::unique_ptr<JobStore>> MakeJobStore(const TierSettings& settings) const;
};

// The kinds a configuration may use, in the order messages list them.
using TierKinds = std::vector<const TierKind*>;

// The kind called `name`, or nullptr.
const TierKind* FindTierKind(const TierKinds& kinds, std::string_view name);

}  // namespace tiercache
