#include <catch2/catch.hpp>
#include "core/l1_store.h"
