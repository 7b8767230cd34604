#pragma once

#include <vector>

#include "core/model_rules.h"

namespace tiercache::config {

// `invalidation:`: what model invalidations remove.
struct InvalidationConfig {
  // `invalidation.models`, checked at load (core/model_rules.h): a cycle among related
  // models or a broken template stops the start.
  ModelRules models;
};

}  // namespace tiercache::config
