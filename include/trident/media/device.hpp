#pragma once
/// @file
/// `media::choose_device`: which device runs inference, from what the user asked for, what the
/// build has and what the machine has — the lesson's `"cuda" if torch.cuda.is_available() else "cpu"`.

#include <string>
#include <string_view>

namespace trident::media {

enum class device_kind { cpu, cuda };

[[nodiscard]] constexpr const char* to_string(device_kind k) noexcept {
  return k == device_kind::cuda ? "cuda" : "cpu";
}

/// The device chosen and why, in words (printed as "Using device: cuda (NVIDIA H200)").
struct device_choice {
  device_kind kind = device_kind::cpu;
  std::string reason;
};

/// What the process can use: whether this build has ggml's CUDA backend, and how many CUDA
/// devices ggml sees (0 without the backend), with the first one's name.
struct device_inventory {
  bool build_has_cuda = false;
  int cuda_devices = 0;
  std::string cuda_name;
};

/// Asks ggml. Thread safe; the first call loads the backends (milliseconds; with CUDA, the
/// driver's start-up, about 100 ms).
[[nodiscard]] device_inventory probe_devices();

/// `requested` is "auto", "cpu" or "cuda". `auto` takes CUDA when the build has it and a device
/// is present, else the CPU; `cuda` throws `device_error` saying why it cannot be had (a build
/// without CUDA, or no device); any other word throws `device_error` too. Pure function.
[[nodiscard]] device_choice choose_device(std::string_view requested, const device_inventory& inventory);

}  // namespace trident::media
