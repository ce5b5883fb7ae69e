#pragma once
/// @file
/// Deprecated: the task registry (`TRIDENT_TASK`) is `trident/proc/task_registry.hpp` since 0.2;
/// this header only forwards there and goes in 0.3 (docs/versioning.md). It carries no `#warning`:
/// the umbrella header and the standalone-header check include every public header, and the tree
/// builds with -Werror.

#include "trident/proc/task_registry.hpp"
