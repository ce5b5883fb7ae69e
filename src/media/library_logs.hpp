#pragma once
/// @file
/// Private to the media layer: whisper.cpp's and ggml's logs, routed away from stderr.
/// whisper_model.cpp implements it.

namespace trident::media::detail {

/// Routes whisper.cpp's and ggml's log lines away from stderr: a command prints its own progress,
/// and their errors are kept for the next error message (whisper_model.cpp). Called before any
/// call into either library; the first call installs, later ones return at once. Thread safe.
void quiet_library_logs();

}  // namespace trident::media::detail
