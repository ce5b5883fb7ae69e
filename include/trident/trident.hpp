#pragma once
/// @file
/// Umbrella header: every public header of the runtime layers, core to http and the advisor (what the target
/// trident::trident links). A program that needs one layer can include that layer's headers and
/// link its target alone (trident::exec, trident::aio, …). Optional layers with heavy
/// dependencies get umbrellas of their own, so including this never pulls them in.
///
/// tools/check_layers.py fails when a public header is missing here.

#include "trident/version.hpp"

#include "trident/advisor/advise.hpp"
#include "trident/advisor/measure.hpp"
#include "trident/advisor/recommend.hpp"

#include "trident/core/atomic_file.hpp"
#include "trident/core/errors.hpp"
#include "trident/core/shutdown_mode.hpp"
#include "trident/core/source_location.hpp"

#include "trident/trace/html_timeline.hpp"
#include "trident/trace/process_spans.hpp"
#include "trident/trace/recorder.hpp"

#include "trident/sync/channel.hpp"
#include "trident/sync/channel_types.hpp"
#include "trident/sync/channel_waiter.hpp"
#include "trident/sync/event.hpp"
#include "trident/sync/lock_order.hpp"
#include "trident/sync/mutex.hpp"
#include "trident/sync/priority_channel.hpp"
#include "trident/sync/synchronized.hpp"

#include "trident/exec/as_completed.hpp"
#include "trident/exec/completion_queue.hpp"
#include "trident/exec/continuation.hpp"
#include "trident/exec/future.hpp"
#include "trident/exec/parallel_for.hpp"
#include "trident/exec/task_group.hpp"
#include "trident/exec/thread_pool.hpp"
#include "trident/exec/when_all.hpp"

#include "trident/aio/as_completed.hpp"
#include "trident/aio/async_generator.hpp"
#include "trident/aio/channel_ends.hpp"
#include "trident/aio/condition.hpp"
#include "trident/aio/event.hpp"
#include "trident/aio/event_loop.hpp"
#include "trident/aio/gather.hpp"
#include "trident/aio/lock.hpp"
#include "trident/aio/lowlevel.hpp"
#include "trident/aio/lowlevel/io_handle.hpp"
#include "trident/aio/lowlevel/io_wait.hpp"
#include "trident/aio/lowlevel/remote_wait.hpp"
#include "trident/aio/lowlevel/task_context.hpp"
#include "trident/aio/lowlevel/timer_node.hpp"
#include "trident/aio/lowlevel/waitable_queue.hpp"
#include "trident/aio/queue.hpp"
#include "trident/aio/run.hpp"
#include "trident/aio/run_in.hpp"
#include "trident/aio/semaphore.hpp"
#include "trident/aio/sleep.hpp"
#include "trident/aio/spawn.hpp"
#include "trident/aio/task.hpp"
#include "trident/aio/task_group.hpp"
#include "trident/aio/tcp_server.hpp"
#include "trident/aio/tcp_stream.hpp"
#include "trident/aio/timeout.hpp"
#include "trident/aio/wrap_future.hpp"

#include "trident/proc/codec.hpp"
#include "trident/proc/errors.hpp"
#include "trident/proc/lowlevel.hpp"
#include "trident/proc/process.hpp"
#include "trident/proc/worker_usage.hpp"
#include "trident/proc/process_pool.hpp"
#include "trident/proc/queue.hpp"
#include "trident/proc/shared_bytes.hpp"
#include "trident/proc/run_in.hpp"
#include "trident/proc/task.hpp"
#include "trident/proc/worker_main.hpp"

#include "trident/http/errors.hpp"
#include "trident/http/fetch.hpp"
#include "trident/http/file_names.hpp"
#include "trident/http/request.hpp"
#include "trident/http/response.hpp"
#include "trident/http/retry_policy.hpp"
#include "trident/http/session.hpp"
