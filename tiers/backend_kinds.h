#pragma once

#include "core/backend_kind.h"

namespace tiercache {

// Every tier kind the daemon offers, in the order messages list them ("redis or postgres").
const TierKinds& BackendKinds();

}  // namespace tiercache
