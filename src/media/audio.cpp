#include "trident/media/audio.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
}

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include "trident/media/errors.hpp"

namespace trident::media {

namespace {

std::string av_error_text(int rc) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(rc, text, sizeof text);
  return text;
}

std::string hex(unsigned value) {
  char text[16];
  std::snprintf(text, sizeof text, "%x", value);
  return text;
}

struct format_closer {
  void operator()(AVFormatContext* f) const noexcept { avformat_close_input(&f); }
};
struct codec_closer {
  void operator()(AVCodecContext* c) const noexcept { avcodec_free_context(&c); }
};
struct packet_freer {
  void operator()(AVPacket* p) const noexcept { av_packet_free(&p); }
};
struct frame_freer {
  void operator()(AVFrame* f) const noexcept { av_frame_free(&f); }
};
struct swr_freer {
  void operator()(SwrContext* s) const noexcept { swr_free(&s); }
};

class decoder {
 public:
  explicit decoder(const std::filesystem::path& path) : path_(path) {}

  decoded_audio run() {
    open();
    decode_all();
    if (out_.samples.empty()) fail("no audio samples could be decoded (empty or corrupt audio stream)");
    return std::move(out_);
  }

 private:
  [[noreturn]] void fail(const std::string& why) const { throw decode_error(path_.string() + ": " + why); }

  void open() {
    AVFormatContext* raw = nullptr;
    if (int rc = avformat_open_input(&raw, path_.c_str(), nullptr, nullptr); rc < 0) {
      fail("cannot open as media: " + av_error_text(rc));
    }
    format_.reset(raw);
    if (int rc = avformat_find_stream_info(format_.get(), nullptr); rc < 0)
      fail("cannot read stream information: " + av_error_text(rc));
    out_.container = format_->iformat->name;

    const AVCodec* codec = nullptr;
    stream_ = av_find_best_stream(format_.get(), AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
    if (stream_ == AVERROR_STREAM_NOT_FOUND) fail("no audio stream");
    if (stream_ == AVERROR_DECODER_NOT_FOUND || (stream_ >= 0 && codec == nullptr)) {
      // There is audio, but no decoder for it: name its codec (or its tag, when FFmpeg has none).
      const int index = av_find_best_stream(format_.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
      std::string name = "unknown";
      if (index >= 0) {
        const AVCodecParameters* p = format_->streams[index]->codecpar;
        name = p->codec_id != AV_CODEC_ID_NONE ? avcodec_get_name(p->codec_id) : "tag 0x" + hex(p->codec_tag);
      }
      fail("unsupported audio codec (" + name + "): this FFmpeg has no decoder for it");
    }
    if (stream_ < 0) fail("cannot select the audio stream: " + av_error_text(stream_));
    const AVCodecParameters* par = format_->streams[stream_]->codecpar;
    out_.codec = avcodec_get_name(par->codec_id);

    codec_.reset(avcodec_alloc_context3(codec));
    if (!codec_) fail("out of memory");
    if (int rc = avcodec_parameters_to_context(codec_.get(), par); rc < 0)
      fail("bad codec parameters: " + av_error_text(rc));
    if (int rc = avcodec_open2(codec_.get(), codec, nullptr); rc < 0)
      fail("cannot open the " + out_.codec + " decoder: " + av_error_text(rc));
    if (codec_->ch_layout.nb_channels <= 0 || codec_->sample_rate <= 0)
      fail("audio stream without channels or sample rate");
    if (codec_->sample_rate < min_sample_rate || codec_->sample_rate > max_sample_rate) {
      fail("a sample rate of " + std::to_string(codec_->sample_rate) + " Hz is outside what audio uses (" +
           std::to_string(min_sample_rate) + " to " + std::to_string(max_sample_rate) + " Hz)");
    }

    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
    SwrContext* swr = nullptr;
    if (int rc = swr_alloc_set_opts2(&swr, &mono, AV_SAMPLE_FMT_FLT, whisper_sample_rate, &codec_->ch_layout,
                                     codec_->sample_fmt, codec_->sample_rate, 0, nullptr);
        rc < 0) {
      fail("cannot set up resampling: " + av_error_text(rc));
    }
    swr_.reset(swr);
    if (int rc = swr_init(swr_.get()); rc < 0) fail("cannot set up resampling: " + av_error_text(rc));
    // Reserve for the whole stream when its length is known (one allocation, no regrowth), up
    // to `max_reserved_seconds`: the duration is the file's own claim, and a few bytes can claim
    // days (computed in double: the claim times the rate can pass 2^63).
    if (format_->duration > 0) {
      const double claimed = static_cast<double>(format_->duration) / AV_TIME_BASE;
      out_.samples.reserve(
          static_cast<std::size_t>((std::min(claimed, max_reserved_seconds) + 1) * whisper_sample_rate));
    }
  }

  /// The sample rates decoded. Below 1 kHz no speech is left to hear (and a few bytes make hours
  /// of audio at 16 kHz); above 768 kHz, the highest rate in use, the resampler's set-up grows
  /// with the ratio: an 805 MHz WAV header of 535 bytes kept it busy for over 14 s.
  static constexpr int min_sample_rate = 1'000;
  static constexpr int max_sample_rate = 768'000;

  /// The most audio reserved for on a container's word (10 minutes: 38 MB of samples); a longer
  /// stream grows the buffer as it decodes.
  static constexpr double max_reserved_seconds = 600;

  void convert(const AVFrame* frame) {
    const int in_samples = frame != nullptr ? frame->nb_samples : 0;
    const int room = swr_get_out_samples(swr_.get(), in_samples);
    if (room < 0) fail("resampling failed: " + av_error_text(room));
    const std::size_t old = out_.samples.size();
    out_.samples.resize(old + static_cast<std::size_t>(room));
    auto* dst = reinterpret_cast<uint8_t*>(out_.samples.data() + old);
    const int got =
        swr_convert(swr_.get(), &dst, room,
                    frame != nullptr ? const_cast<const uint8_t**>(frame->extended_data) : nullptr, in_samples);
    if (got < 0) fail("resampling failed: " + av_error_text(got));
    out_.samples.resize(old + static_cast<std::size_t>(got));
    // Float codecs (pcm_f32le, for one) carry any value, NaN included; Whisper takes [-1, 1].
    // Clipped as a sound card would play it; NaN is silence.
    for (std::size_t i = old; i < out_.samples.size(); ++i) {
      float& v = out_.samples[i];
      v = std::isnan(v) ? 0.0F : std::clamp(v, -1.0F, 1.0F);
    }
  }

  void drain_frames() {
    for (;;) {
      const int rc = avcodec_receive_frame(codec_.get(), frame_.get());
      if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return;
      if (rc < 0) fail("corrupt audio data: " + av_error_text(rc));
      convert(frame_.get());
      av_frame_unref(frame_.get());
    }
  }

  void decode_all() {
    packet_.reset(av_packet_alloc());
    frame_.reset(av_frame_alloc());
    if (!packet_ || !frame_) fail("out of memory");
    for (;;) {
      const int rc = av_read_frame(format_.get(), packet_.get());
      if (rc == AVERROR_EOF) break;
      if (rc < 0) fail("truncated or corrupt file: " + av_error_text(rc));
      if (packet_->stream_index == stream_) {
        const int sent = avcodec_send_packet(codec_.get(), packet_.get());
        av_packet_unref(packet_.get());
        if (sent < 0 && sent != AVERROR(EAGAIN)) fail("corrupt audio data: " + av_error_text(sent));
        drain_frames();
      } else {
        av_packet_unref(packet_.get());
      }
    }
    // A container cut short reads as an early end of file: FFmpeg flags it on the I/O context.
    if (format_->pb != nullptr && format_->pb->error < 0)
      fail("truncated or corrupt file: " + av_error_text(format_->pb->error));
    if (int rc = avcodec_send_packet(codec_.get(), nullptr); rc < 0 && rc != AVERROR_EOF)
      fail("corrupt audio data: " + av_error_text(rc));
    drain_frames();
    convert(nullptr);  // what the resampler still holds
    check_complete();
  }

  // A file cut short often decodes without an error up to the cut. Where the container states
  // its length, audio that stops well short of it is a truncated file.
  void check_complete() const {
    const AVStream* st = format_->streams[stream_];
    double expected = 0;
    if (st->duration > 0 && st->time_base.den > 0) {
      expected = static_cast<double>(st->duration) * st->time_base.num / st->time_base.den;
    } else if (format_->duration > 0) {
      expected = static_cast<double>(format_->duration) / AV_TIME_BASE;
    }
    const double got = out_.seconds();
    if (expected > 1.0 && got < expected * 0.9 - 0.5) {
      fail("truncated file: " + std::to_string(got).substr(0, 5) + " s of audio where the container says " +
           std::to_string(expected).substr(0, 5) + " s");
    }
  }

  std::filesystem::path path_;
  std::unique_ptr<AVFormatContext, format_closer> format_;
  std::unique_ptr<AVCodecContext, codec_closer> codec_;
  std::unique_ptr<SwrContext, swr_freer> swr_;
  std::unique_ptr<AVPacket, packet_freer> packet_;
  std::unique_ptr<AVFrame, frame_freer> frame_;
  int stream_ = -1;
  decoded_audio out_;
};

}  // namespace

decoded_audio decode_audio(const std::filesystem::path& path) {
  // FFmpeg logs its warnings to stderr; failures come back as decode_error with their reason.
  static std::once_flag quiet;
  std::call_once(quiet, [] { av_log_set_level(AV_LOG_FATAL); });
  decoder d(path);
  return d.run();
}

}  // namespace trident::media
