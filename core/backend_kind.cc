#include "core/backend_kind.h"

#include "core/coherence_bus.h"
#include "core/scheduled_invalidations.h"
#include "core/tier.h"

namespace tiercache {

bool TierKind::OffersCoherenceBus() const { return false; }

Result<std::unique_ptr<CoherenceBus>> TierKind::MakeCoherenceBus(const TierSettings&,
                                                                 std::string_view) const {
  return Status::InvalidArgument(std::string(name()) + " tiers offer no coherence bus");
}

bool TierKind::OffersJobStore() const { return false; }

Result<std::unique_ptr<JobStore>> TierKind::MakeJobStore(const TierSettings&) const {
  return Status::InvalidArgument(std::string(name()) + " tiers offer no job store");
}

const TierKind* FindTierKind(const TierKinds& kinds, std::string_view name) {
  for (const TierKind* kind : kinds) {
    if (kind->name() == name) return kind;
  }
  return nullptr;
}

}  // namespace tiercache
