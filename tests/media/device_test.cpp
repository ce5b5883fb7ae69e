// The lesson's `"cuda" if torch.cuda.is_available() else "cpu"`, as media::choose_device.

#include <gtest/gtest.h>

#include "trident/media/device.hpp"
#include "trident/media/errors.hpp"

namespace {

using namespace trident::media;

const device_inventory no_cuda_build{false, 0, ""};
const device_inventory cuda_build_no_gpu{true, 0, ""};
const device_inventory cuda_build_with_gpu{true, 1, "NVIDIA H200"};

TEST(Device, AutoTakesTheGpuWhenTheBuildHasCudaAndADeviceIsPresent) {
  const auto c = choose_device("auto", cuda_build_with_gpu);
  EXPECT_EQ(c.kind, device_kind::cuda);
  EXPECT_EQ(c.reason, "NVIDIA H200");
}

TEST(Device, AutoFallsBackToTheCpu) {
  EXPECT_EQ(choose_device("auto", no_cuda_build).kind, device_kind::cpu);
  EXPECT_EQ(choose_device("auto", no_cuda_build).reason, "this build has no CUDA backend");
  EXPECT_EQ(choose_device("auto", cuda_build_no_gpu).kind, device_kind::cpu);
  EXPECT_EQ(choose_device("auto", cuda_build_no_gpu).reason, "no CUDA device present");
}

TEST(Device, CpuIsAlwaysPossible) {
  EXPECT_EQ(choose_device("cpu", cuda_build_with_gpu).kind, device_kind::cpu);
  EXPECT_EQ(choose_device("cpu", no_cuda_build).kind, device_kind::cpu);
}

TEST(Device, CudaWithoutItIsAClearError) {
  try {
    (void)choose_device("cuda", no_cuda_build);
    ADD_FAILURE();
  } catch (const device_error& e) {
    EXPECT_NE(std::string(e.what()).find("no CUDA backend"), std::string::npos) << e.what();
  }
  try {
    (void)choose_device("cuda", cuda_build_no_gpu);
    ADD_FAILURE();
  } catch (const device_error& e) {
    EXPECT_NE(std::string(e.what()).find("no CUDA device"), std::string::npos) << e.what();
  }
  EXPECT_EQ(choose_device("cuda", cuda_build_with_gpu).kind, device_kind::cuda);
}

TEST(Device, OtherWordsAreErrors) { EXPECT_THROW((void)choose_device("gpu", cuda_build_with_gpu), device_error); }

// This machine and build as they are: whatever ggml finds, `auto` must agree with it.
TEST(Device, ProbeAgreesWithTheBuild) {
  const auto inventory = probe_devices();
#if TRIDENT_TEST_BUILD_HAS_CUDA
  EXPECT_TRUE(inventory.build_has_cuda);
#else
  EXPECT_FALSE(inventory.build_has_cuda);
  EXPECT_EQ(inventory.cuda_devices, 0);
#endif
  const auto c = choose_device("auto", inventory);
  EXPECT_EQ(c.kind, inventory.build_has_cuda && inventory.cuda_devices > 0 ? device_kind::cuda : device_kind::cpu);
}

}  // namespace
