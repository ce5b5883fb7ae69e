#include "trident/testing/whisper_model_generator.hpp"

#include <ggml.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <numbers>
#include <stdexcept>
#include <string>
#include <vector>

#include "trident/core/atomic_file.hpp"

namespace trident::testing {

// The file format (magic, hyperparameters) is the media layer's: trident/media/model_file.hpp.
using namespace trident::media;

namespace {

/// Buffered writes into an atomic_file.
class writer {
 public:
  explicit writer(const std::filesystem::path& path)
      : file_(path, {.if_exists = trident::atomic_file::existing::replace}) {
    buffer_.reserve(capacity);
  }
  void bytes(const void* data, std::size_t n) {
    const auto* p = static_cast<const char*>(data);
    buffer_.insert(buffer_.end(), p, p + n);
    if (buffer_.size() >= capacity) flush();
  }
  template <class T>
  void value(T v) {
    bytes(&v, sizeof v);
  }
  void commit() {
    flush();
    file_.commit();
  }

 private:
  static constexpr std::size_t capacity = 1 << 20;
  void flush() {
    file_.write(buffer_);
    buffer_.clear();
  }
  trident::atomic_file file_;
  std::vector<char> buffer_;
};

/// splitmix64, and normal deviates from it by Box-Muller.
class random_source {
 public:
  explicit random_source(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; }
  float normal(float spread) {
    const double r = std::sqrt(-2.0 * std::log(uniform()));
    return static_cast<float>(spread * r * std::cos(2 * std::numbers::pi * uniform()));
  }

 private:
  std::uint64_t state_;
};

double hz_to_mel(double hz) {  // Slaney's scale, as librosa (and so Whisper's filters) use
  const double f_sp = 200.0 / 3, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp, logstep = std::log(6.4) / 27.0;
  return hz < min_log_hz ? hz / f_sp : min_log_mel + std::log(hz / min_log_hz) / logstep;
}
double mel_to_hz(double mel) {
  const double f_sp = 200.0 / 3, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp, logstep = std::log(6.4) / 27.0;
  return mel < min_log_mel ? f_sp * mel : min_log_hz * std::exp(logstep * (mel - min_log_mel));
}

/// librosa.filters.mel(sr=16000, n_fft=400, n_mels) with Slaney normalisation: what Whisper uses.
std::vector<float> mel_filters(int n_mels, int n_fft_bins) {
  const double sr = 16000, n_fft = 2.0 * (n_fft_bins - 1);
  std::vector<double> mel_hz(static_cast<std::size_t>(n_mels) + 2);
  const double lo = hz_to_mel(0), hi = hz_to_mel(sr / 2);
  for (std::size_t i = 0; i < mel_hz.size(); ++i)
    mel_hz[i] = mel_to_hz(lo + (hi - lo) * static_cast<double>(i) / (n_mels + 1));
  std::vector<float> out(static_cast<std::size_t>(n_mels) * static_cast<std::size_t>(n_fft_bins));
  for (int m = 0; m < n_mels; ++m) {
    const double enorm = 2.0 / (mel_hz[m + 2] - mel_hz[m]);
    for (int k = 0; k < n_fft_bins; ++k) {
      const double f = k * sr / n_fft;
      const double lower = (f - mel_hz[m]) / (mel_hz[m + 1] - mel_hz[m]);
      const double upper = (mel_hz[m + 2] - f) / (mel_hz[m + 2] - mel_hz[m + 1]);
      out[static_cast<std::size_t>(m) * n_fft_bins + k] =
          static_cast<float>(std::max(0.0, std::min(lower, upper)) * enorm);
    }
  }
  return out;
}

/// 256 single bytes (so " " and every character can be spelt), pseudo-words made of syllables
/// up to the text tokens' count, then the empty token multilingual models have at 50256.
std::vector<std::string> vocabulary() {
  static const char* syllables[] = {"ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "de", "fu",
                                    "ga", "ho", "ji", "ku", "le", "ma", "no", "pi", "ro", "su"};
  std::vector<std::string> words;
  words.reserve(50257);
  for (int b = 0; b < 256; ++b) words.emplace_back(1, static_cast<char>(b));
  for (int i = 0; words.size() < 50256; ++i) {
    std::string w = " ";
    int n = i;
    do {
      w += syllables[n % 20];
      n /= 20;
    } while (n > 0);
    words.push_back(std::move(w));
  }
  words.emplace_back();
  return words;
}

class tensor_writer {
 public:
  tensor_writer(writer& out, std::uint64_t seed) : out_(out), random_(seed) {}

  enum class fill { normal, ones, zeros, sinusoids };

  void tensor(const std::string& name, std::vector<std::int32_t> shape, ggml_type type, fill how,
              const std::function<void(std::vector<float>&)>& adjust = {}) {
    out_.value<std::int32_t>(static_cast<std::int32_t>(shape.size()));
    out_.value<std::int32_t>(static_cast<std::int32_t>(name.size()));
    out_.value<std::int32_t>(type);
    std::size_t n = 1;
    for (auto d : shape) {
      out_.value<std::int32_t>(d);
      n *= static_cast<std::size_t>(d);
    }
    out_.bytes(name.data(), name.size());
    values_.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      switch (how) {
        case fill::normal:
          values_[i] = random_.normal(0.02f);
          break;
        case fill::ones:
          values_[i] = 1.0f + random_.normal(0.01f);
          break;
        case fill::zeros:
          values_[i] = random_.normal(0.001f);
          break;
        case fill::sinusoids: {  // Whisper's encoder positions: sin of the first half, cos of the second
          const std::size_t width = static_cast<std::size_t>(shape[0]), pos = i / width, ch = i % width,
                            half = width / 2;
          const double scale = std::log(10000.0) / static_cast<double>(half - 1);
          const double t = static_cast<double>(pos) * std::exp(-scale * static_cast<double>(ch % half));
          values_[i] = static_cast<float>(ch < half ? std::sin(t) : std::cos(t));
          break;
        }
      }
    }
    if (adjust) adjust(values_);
    if (type == GGML_TYPE_F16) {
      halves_.resize(n);
      ggml_fp32_to_fp16_row(values_.data(), halves_.data(), static_cast<std::int64_t>(n));
      out_.bytes(halves_.data(), n * sizeof(ggml_fp16_t));
    } else {
      out_.bytes(values_.data(), n * sizeof(float));
    }
  }

 private:
  writer& out_;
  random_source random_;
  std::vector<float> values_;
  std::vector<ggml_fp16_t> halves_;
};

}  // namespace

media::whisper_hparams published_whisper_hparams(std::string_view size) {
  media::whisper_hparams h;
  h.n_vocab = 51865;
  h.n_audio_ctx = 1500;
  h.n_text_ctx = 448;
  h.n_mels = 80;
  h.ftype = 1;  // f16
  if (size == "tiny") {
    h.n_audio_state = h.n_text_state = 384;
    h.n_audio_head = h.n_text_head = 6;
    h.n_audio_layer = h.n_text_layer = 4;
  } else if (size == "base") {
    h.n_audio_state = h.n_text_state = 512;
    h.n_audio_head = h.n_text_head = 8;
    h.n_audio_layer = h.n_text_layer = 6;
  } else {
    throw std::invalid_argument("model size must be tiny or base, not '" + std::string(size) + "'");
  }
  return h;
}

void write_generated_whisper_model(const std::filesystem::path& path, std::string_view size, std::uint64_t seed) {
  const media::whisper_hparams h = published_whisper_hparams(size);
  writer out(path);
  out.value<std::uint32_t>(ggml_file_magic);
  for (std::int32_t v : {h.n_vocab, h.n_audio_ctx, h.n_audio_state, h.n_audio_head, h.n_audio_layer, h.n_text_ctx,
                         h.n_text_state, h.n_text_head, h.n_text_layer, h.n_mels, h.ftype}) {
    out.value<std::int32_t>(v);
  }
  const int fft_bins = 201;  // n_fft 400
  out.value<std::int32_t>(h.n_mels);
  out.value<std::int32_t>(fft_bins);
  const auto filters = mel_filters(h.n_mels, fft_bins);
  out.bytes(filters.data(), filters.size() * sizeof(float));
  const auto words = vocabulary();
  out.value<std::int32_t>(static_cast<std::int32_t>(words.size()));
  for (const auto& w : words) {
    out.value<std::uint32_t>(static_cast<std::uint32_t>(w.size()));
    out.bytes(w.data(), w.size());
  }

  using f = tensor_writer::fill;
  constexpr ggml_type f16 = GGML_TYPE_F16, f32 = GGML_TYPE_F32;
  tensor_writer t(out, seed);
  const std::int32_t s = h.n_audio_state, mlp = 4 * s;
  t.tensor("encoder.positional_embedding", {s, h.n_audio_ctx}, f32, f::sinusoids);
  t.tensor("encoder.conv1.weight", {3, h.n_mels, s}, f16, f::normal);
  t.tensor("encoder.conv1.bias", {1, s}, f32, f::zeros);
  t.tensor("encoder.conv2.weight", {3, s, s}, f16, f::normal);
  t.tensor("encoder.conv2.bias", {1, s}, f32, f::zeros);
  t.tensor("encoder.ln_post.weight", {s}, f32, f::ones);
  t.tensor("encoder.ln_post.bias", {s}, f32, f::zeros);
  auto block = [&](const std::string& p, bool cross) {
    t.tensor(p + "mlp_ln.weight", {s}, f32, f::ones);
    t.tensor(p + "mlp_ln.bias", {s}, f32, f::zeros);
    t.tensor(p + "mlp.0.weight", {s, mlp}, f16, f::normal);
    t.tensor(p + "mlp.0.bias", {mlp}, f32, f::zeros);
    t.tensor(p + "mlp.2.weight", {mlp, s}, f16, f::normal);
    t.tensor(p + "mlp.2.bias", {s}, f32, f::zeros);
    for (const std::string a : {"attn", cross ? "cross_attn" : ""}) {
      if (a.empty()) continue;
      t.tensor(p + a + "_ln.weight", {s}, f32, f::ones);
      t.tensor(p + a + "_ln.bias", {s}, f32, f::zeros);
      t.tensor(p + a + ".query.weight", {s, s}, f16, f::normal);
      t.tensor(p + a + ".query.bias", {s}, f32, f::zeros);
      t.tensor(p + a + ".key.weight", {s, s}, f16, f::normal);
      t.tensor(p + a + ".value.weight", {s, s}, f16, f::normal);
      t.tensor(p + a + ".value.bias", {s}, f32, f::zeros);
      t.tensor(p + a + ".out.weight", {s, s}, f16, f::normal);
      t.tensor(p + a + ".out.bias", {s}, f32, f::zeros);
    }
  };
  for (int i = 0; i < h.n_audio_layer; ++i) block("encoder.blocks." + std::to_string(i) + ".", false);
  // Decoding ends like a trained model's on a short clip: the final norm's bias points along the
  // end-of-text token's embedding, so that token wins greedy decoding wherever it is allowed (not
  // as the first token: whisper.cpp suppresses it there). Every file then costs the same few
  // decoder steps, with any tool and options, instead of a random number up to the context.
  random_source direction_source(seed ^ 0x5eedULL);
  std::vector<float> direction(static_cast<std::size_t>(s));
  for (auto& d : direction) d = (direction_source.next() & 1) != 0 ? 1.0f : -1.0f;
  const std::size_t eot = 50257;  // multilingual vocabulary: <|endoftext|>
  t.tensor("decoder.positional_embedding", {s, h.n_text_ctx}, f32, f::normal);
  t.tensor("decoder.token_embedding.weight", {s, h.n_vocab}, f16, f::normal, [&](std::vector<float>& v) {
    for (std::size_t i = 0; i < direction.size(); ++i) v[eot * direction.size() + i] = 0.05f * direction[i];
  });
  t.tensor("decoder.ln.weight", {s}, f32, f::ones);
  t.tensor("decoder.ln.bias", {s}, f32, f::zeros, [&](std::vector<float>& v) {
    for (std::size_t i = 0; i < direction.size(); ++i) v[i] += 2.0f * direction[i];
  });
  for (int i = 0; i < h.n_text_layer; ++i) block("decoder.blocks." + std::to_string(i) + ".", true);
  out.commit();
}

}  // namespace trident::testing
