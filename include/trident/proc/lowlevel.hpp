#pragma once
/// @file
/// The process layer's low-level interface, for layers that carry registered tasks elsewhere
/// (the cluster layer sends them to MPI ranks): a call to a registered task as bytes — the same
/// payload a process pool sends its workers —, the job that carries it with its caller's
/// promise, and the ways to run such bytes: in this process, or on a `process_pool`, with the
/// encoded result coming back as bytes. The process pool itself is built on the same pieces.
///
/// Most code wants `process_pool::submit` instead. Like `aio/lowlevel.hpp`: public, documented,
/// and few; nothing outside proc needs `proc::detail`.
///
/// | piece | header | what it is for |
/// |---|---|---|
/// | `lowlevel::encoded_call`, `call_kind` | lowlevel/encoded_call.hpp | a call as bytes: kind, payload, task name |
/// | `lowlevel::split_payload`, `payload_task_name` | lowlevel/encoded_call.hpp | a payload read: name, arguments |
/// | `lowlevel::encode_call`, `encode_chunk`, `task_name`, traits | lowlevel/encode.hpp | a typed call made bytes |
/// | `lowlevel::job`, `promised_job<R>` | lowlevel/job.hpp | a call on its way, with the promise its future waits on |
/// | `lowlevel::decode_result<R>`, `encoded_result` | lowlevel/job.hpp | result bytes as a value, or kept |
/// | `lowlevel::run_encoded`, `submit_encoded` | lowlevel/run_encoded.hpp | run bytes here or on a pool |
/// | `lowlevel::describe_exception` | lowlevel/describe_exception.hpp | an exception as (type, message) |
///
/// @par Thread safety
/// Every function may be called from any thread at once; a `job` is used by one thread at a time
/// except through its promise (lowlevel/job.hpp). `submit_encoded` follows the pool's rules
/// (see process_pool.hpp).
///
/// @par Cancellation
/// A caller cancels through its future until the carrier claims the job (`job::claim`); after
/// that the call runs to its end. `run_encoded` is not cancellable.

#include "trident/proc/lowlevel/describe_exception.hpp"
#include "trident/proc/lowlevel/encode.hpp"
#include "trident/proc/lowlevel/encoded_call.hpp"
#include "trident/proc/lowlevel/job.hpp"
#include "trident/proc/lowlevel/run_encoded.hpp"
