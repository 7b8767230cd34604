#pragma once

#include <memory>
#include <string>
#include <typeinfo>

#include "core/backend_kind.h"
#include "core/tier_options.h"

namespace tiercache::config {

// One entry of the `tiers:` list: a lower tier below L1, in read order.
struct TierConfig {
  std::string name;  // "L2", "L3", ... by position unless set
  LowerTierOptions options;
  // Its `type`, one of the kinds the loader was given; never null in a loaded config.
  const TierKind* kind = nullptr;
  // What `kind` read from the entry's own keys; the tier's name is given to it when the
  // tier is made (kind->Build(name, *settings)).
  std::shared_ptr<const TierSettings> settings;
};

// `tier`'s settings as its kind's options struct (SettingsOf<RedisTierOptions>(tier)).
// Throws std::bad_cast when they are of another kind.
template <class Options>
const Options& SettingsOf(const TierConfig& tier) {
  const Options* options = tier.settings ? SettingsAs<Options>(*tier.settings) : nullptr;
  if (options == nullptr) throw std::bad_cast();
  return *options;
}

}  // namespace tiercache::config
