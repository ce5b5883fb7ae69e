#pragma once
/// @file
/// Umbrella header: every public Trident header.

#include "trident/version.hpp"

#include "trident/core/errors.hpp"

#include "trident/trace/recorder.hpp"

#include "trident/sync/channel.hpp"
#include "trident/sync/event.hpp"
#include "trident/sync/lock_order.hpp"
#include "trident/sync/mutex.hpp"
#include "trident/sync/priority_channel.hpp"
#include "trident/sync/synchronized.hpp"

#include "trident/exec/as_completed.hpp"
#include "trident/exec/continuation.hpp"
#include "trident/exec/future.hpp"
#include "trident/exec/parallel_for.hpp"
#include "trident/exec/task_group.hpp"
#include "trident/exec/thread_pool.hpp"
#include "trident/exec/when_all.hpp"
