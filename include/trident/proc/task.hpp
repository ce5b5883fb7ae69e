#pragma once
/// @file
/// Deprecated: the task registry (`TRIDENT_TASK`) is `trident/proc/task_registry.hpp` since 0.2;
/// this header only forwards there, warns when included, and goes in 0.3 (docs/versioning.md).

#warning "trident/proc/task.hpp is deprecated: include trident/proc/task_registry.hpp (removed in 0.3)"

#include "trident/proc/task_registry.hpp"
