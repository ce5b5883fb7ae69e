// trident_make_whisper_model: writes a ggml Whisper model with the real dimensions of a published
// size and seeded random weights (see trident/testing/whisper_model_generator.hpp). For tests, benchmarks
// and the tour, where no trained weights can be downloaded; the text such a model writes is
// meaningless, the time it takes is real.
//
//   trident_make_whisper_model tiny models/ggml-tiny-generated.bin [--seed N]

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "trident/testing/whisper_model_generator.hpp"

namespace {

constexpr const char* usage = "usage: trident_make_whisper_model tiny|base OUTPUT [--seed N]\n";

}  // namespace

int main(int argc, char** argv) {
  // Asked for help: the usage on stdout, success. Wrong arguments: the usage on stderr, exit 2.
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::printf("%s", usage);
      std::printf(
          "Writes a ggml Whisper model with the real dimensions of a published size and seeded random\n"
          "weights, for tests and benchmarks: its text is meaningless, the time it takes is real.\n"
          "  tiny|base  the size whose dimensions it has\n"
          "  OUTPUT     the file to write\n"
          "  --seed N   seed of the weights (default 42): the same seed writes the same file\n");
      return 0;
    }
  }
  if (argc != 3 && !(argc == 5 && std::string(argv[3]) == "--seed")) {
    std::fprintf(stderr, "%s", usage);
    return 2;
  }
  const std::string size = argv[1];
  if (size != "tiny" && size != "base") {
    std::fprintf(stderr, "trident_make_whisper_model: size must be tiny or base, not '%s'\n", size.c_str());
    return 2;
  }
  std::uint64_t seed = 42;
  if (argc == 5) {
    char* end = nullptr;
    seed = std::strtoull(argv[4], &end, 10);
    if (end == argv[4] || *end != '\0') {
      std::fprintf(stderr, "trident_make_whisper_model: --seed needs a whole number, not '%s'\n", argv[4]);
      return 2;
    }
  }
  try {
    trident::testing::write_generated_whisper_model(argv[2], size, seed);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "trident_make_whisper_model: %s\n", e.what());
    return 1;
  }
  return 0;
}
