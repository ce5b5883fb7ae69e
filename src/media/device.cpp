#include "trident/media/device.hpp"

#include <ggml-backend.h>

#include <mutex>

#include "trident/media/errors.hpp"
#include "library_logs.hpp"

namespace trident::media {

device_inventory probe_devices() {
  static std::once_flag once;
  static device_inventory inventory;
  std::call_once(once, [] {
    detail::quiet_library_logs();  // the CUDA backend says what it found
    inventory.build_has_cuda = TRIDENT_MEDIA_HAS_CUDA != 0;
    for (std::size_t i = 0; i < ggml_backend_dev_count(); ++i) {
      ggml_backend_dev_t dev = ggml_backend_dev_get(i);
      if (ggml_backend_dev_type(dev) != GGML_BACKEND_DEVICE_TYPE_GPU) continue;
      if (inventory.cuda_devices++ == 0) inventory.cuda_name = ggml_backend_dev_description(dev);
    }
  });
  return inventory;
}

device_choice choose_device(std::string_view requested, const device_inventory& inventory) {
  const bool cuda_usable = inventory.build_has_cuda && inventory.cuda_devices > 0;
  const std::string gpu = inventory.cuda_name.empty() ? std::string("GPU 0") : inventory.cuda_name;
  if (requested == "cpu") return {device_kind::cpu, "asked for"};
  if (requested == "cuda") {
    if (!inventory.build_has_cuda) {
      throw device_error("--device cuda: this build has no CUDA backend (build with the 'cuda' CMake preset)");
    }
    if (inventory.cuda_devices == 0) throw device_error("--device cuda: no CUDA device is present");
    return {device_kind::cuda, gpu};
  }
  if (requested == "auto") {
    if (cuda_usable) return {device_kind::cuda, gpu};
    return {device_kind::cpu, inventory.build_has_cuda ? "no CUDA device present" : "this build has no CUDA backend"};
  }
  throw device_error("--device must be auto, cpu or cuda, not '" + std::string(requested) + "'");
}

}  // namespace trident::media
