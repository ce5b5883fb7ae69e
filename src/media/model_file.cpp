#include "trident/media/model_file.hpp"

#include <ggml.h>
#include <openssl/evp.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "trident/media/errors.hpp"

namespace trident::media {

namespace {

class reader {
 public:
  explicit reader(const std::filesystem::path& path) : path_(path), in_(path, std::ios::binary) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
      fail("no such model file (give a ggml Whisper model with --model)");
    size_ = std::filesystem::file_size(path, ec);
    if (ec || !in_) fail("cannot read: " + (ec ? ec.message() : std::string("open failed")));
  }

  [[noreturn]] void fail(const std::string& why) const { throw model_error("model " + path_.string() + ": " + why); }

  template <class T>
  T read(const char* what) {
    T value{};
    need(sizeof value, what);
    in_.read(reinterpret_cast<char*>(&value), sizeof value);
    pos_ += sizeof value;
    return value;
  }
  std::string read_string(std::uint64_t length, const char* what) {
    need(length, what);
    std::string s(length, '\0');
    in_.read(s.data(), static_cast<std::streamsize>(length));
    pos_ += length;
    return s;
  }
  void skip(std::uint64_t bytes, const std::string& what) {
    need(bytes, what.c_str());
    pos_ += bytes;
    in_.seekg(static_cast<std::streamoff>(pos_));
  }
  void need(std::uint64_t bytes, const char* what) const {
    if (bytes > size_ - pos_) {
      fail("truncated: " + std::string(what) + " needs " + std::to_string(bytes) + " bytes at offset " +
           std::to_string(pos_) + " but the file ends at " + std::to_string(size_));
    }
  }
  [[nodiscard]] bool at_end() const noexcept { return pos_ == size_; }
  [[nodiscard]] std::uint64_t size() const noexcept { return size_; }

 private:
  std::filesystem::path path_;
  std::ifstream in_;
  std::uint64_t size_ = 0;
  std::uint64_t pos_ = 0;
};

std::string sha256_of(const std::filesystem::path& path) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) throw model_error("SHA-256 unavailable");
  std::ifstream in(path, std::ios::binary);
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    if (in.gcount() > 0) EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) throw model_error("model " + path.string() + ": read error while hashing");
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned length = 0;
  EVP_DigestFinal_ex(ctx.get(), digest.data(), &length);
  std::string hex;
  for (unsigned i = 0; i < length; ++i) {
    char two[3];
    std::snprintf(two, sizeof two, "%02x", digest[i]);
    hex += two;
  }
  return hex;
}

std::string size_name(int audio_layers) {
  switch (audio_layers) {
    case 4:
      return "tiny";
    case 6:
      return "base";
    case 12:
      return "small";
    case 24:
      return "medium";
    case 32:
      return "large";
    default:
      return "unknown";
  }
}

}  // namespace

model_info inspect_model(const std::filesystem::path& path) {
  reader r(path);
  model_info info;
  info.file_bytes = r.size();
  if (r.size() < 4 || r.read<std::uint32_t>("the magic") != ggml_file_magic) {
    r.fail("not a ggml Whisper model (bad magic; expected a ggml .bin file such as ggml-base.bin)");
  }
  auto& h = info.hparams;
  for (std::int32_t* field : {&h.n_vocab, &h.n_audio_ctx, &h.n_audio_state, &h.n_audio_head, &h.n_audio_layer,
                              &h.n_text_ctx, &h.n_text_state, &h.n_text_head, &h.n_text_layer, &h.n_mels, &h.ftype}) {
    *field = r.read<std::int32_t>("the hyperparameters");
  }
  const bool sane = h.n_vocab > 0 && h.n_vocab < 1'000'000 && h.n_audio_ctx > 0 && h.n_audio_state > 0 &&
                    h.n_audio_head > 0 && h.n_audio_layer > 0 && h.n_audio_layer < 1000 && h.n_text_ctx > 0 &&
                    h.n_text_state == h.n_audio_state && h.n_text_head > 0 && h.n_text_layer > 0 &&
                    h.n_text_layer < 1000 && h.n_mels > 0 && h.ftype >= 0;
  if (!sane) r.fail("not a ggml Whisper model (impossible hyperparameters)");
  info.size_name = size_name(h.n_audio_layer);

  const auto n_mel = r.read<std::int32_t>("the mel filters");
  const auto n_fft = r.read<std::int32_t>("the mel filters");
  if (n_mel <= 0 || n_fft <= 0 || n_mel > 10000 || n_fft > 100000)
    r.fail("not a ggml Whisper model (bad mel filter size)");
  r.skip(static_cast<std::uint64_t>(n_mel) * static_cast<std::uint64_t>(n_fft) * sizeof(float), "the mel filters");

  const auto n_tokens = r.read<std::int32_t>("the vocabulary");
  if (n_tokens < 0 || n_tokens > h.n_vocab)
    r.fail("not a ggml Whisper model (vocabulary of " + std::to_string(n_tokens) + " tokens)");
  for (std::int32_t i = 0; i < n_tokens; ++i) {
    const auto length = r.read<std::uint32_t>("the vocabulary");
    r.skip(length, "token " + std::to_string(i));
  }

  const std::int64_t expected = 11 + 15LL * h.n_audio_layer + 24LL * h.n_text_layer;
  while (!r.at_end()) {
    const auto n_dims = r.read<std::int32_t>("a tensor header");
    const auto name_length = r.read<std::int32_t>("a tensor header");
    const auto type = r.read<std::int32_t>("a tensor header");
    if (n_dims < 1 || n_dims > 4 || name_length <= 0 || name_length > 256 || type < 0 || type >= GGML_TYPE_COUNT ||
        ggml_type_size(static_cast<ggml_type>(type)) == 0) {
      r.fail("corrupt tensor header after " + std::to_string(info.tensors) + " tensors");
    }
    // Four dimensions of up to 2^31 each: the element count and the byte count are multiplied
    // with overflow checks, else a shape could wrap around to a tensor of no bytes at all.
    std::uint64_t elements = 1;
    std::array<std::int32_t, 4> ne{1, 1, 1, 1};
    for (int d = 0; d < n_dims; ++d) {
      ne[d] = r.read<std::int32_t>("a tensor shape");
      if (ne[d] <= 0 || __builtin_mul_overflow(elements, static_cast<std::uint64_t>(ne[d]), &elements)) {
        r.fail("corrupt tensor shape after " + std::to_string(info.tensors) + " tensors");
      }
    }
    const std::string name = r.read_string(static_cast<std::uint64_t>(name_length), "a tensor name");
    const auto t = static_cast<ggml_type>(type);
    std::uint64_t bytes = 0;
    if (__builtin_mul_overflow(elements, static_cast<std::uint64_t>(ggml_type_size(t)), &bytes)) {
      r.fail("corrupt tensor shape after " + std::to_string(info.tensors) + " tensors");
    }
    bytes /= static_cast<std::uint64_t>(ggml_blck_size(t));
    r.skip(bytes, "tensor '" + name + "'");
    ++info.tensors;
  }
  if (info.tensors != expected) {
    r.fail("truncated or incomplete: " + std::to_string(info.tensors) + " tensors where a " +
           std::to_string(h.n_audio_layer) + "+" + std::to_string(h.n_text_layer) + "-layer model has " +
           std::to_string(expected));
  }
  info.sha256 = sha256_of(path);
  return info;
}

}  // namespace trident::media
