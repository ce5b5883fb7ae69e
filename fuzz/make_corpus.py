#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target (fuzz/corpus/<target>/): small valid inputs in
each parser's format, built here byte by byte from the formats' descriptions (the comments of
fuzz/*_fuzz.cpp name them), so that libFuzzer starts from inputs that reach past the first
check. Run from anywhere; it rewrites the folders' seed_* files and leaves other files there
(a crash's input kept as a corpus file, for one)."""
import pathlib
import shutil
import struct
import subprocess
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent / "corpus"


def u8(v): return struct.pack("<B", v)
def u16(v): return struct.pack("<H", v)
def u32(v): return struct.pack("<I", v)
def i32(v): return struct.pack("<i", v)
def u64(v): return struct.pack("<Q", v)
def f64(v): return struct.pack("<d", v)


# cereal's binary archive (proc/codec.hpp): a 64-bit count before a string or container.
def c_string(s): return u64(len(s)) + s
def c_vector(items): return u64(len(items)) + b"".join(items)


# The worker channel's frames (proc/detail/frame.hpp): magic "TRD1", kind, flags, attachments,
# id, size, then the payload.
FRAME_MAGIC = 0x31445254
KIND = {"hello": 1, "task": 2, "chunk": 3, "result": 4, "error": 5, "retire": 6, "trace_on": 7, "trace_spans": 8}


def frame(kind, ident, payload, flags=0):
    return u32(FRAME_MAGIC) + u8(KIND[kind]) + u8(flags) + u16(0) + u64(ident) + u64(len(payload)) + payload


# A span pack (trace/process_spans.hpp, src/trace/recorder.cpp): magic "TRS1", pid, process name,
# thread names, spans; strings with a 32-bit length.
def t_string(s): return u32(len(s)) + s


def span_pack(pid=4242, spans=2):
    out = u32(0x31535254) + u32(pid) + t_string(b"worker 1")
    out += u32(1) + u32(4243) + t_string(b"main")
    out += u32(spans)
    for i in range(spans):
        out += u32(4243) + u64(1_000_000 + i) + u64(2_000_000 + i) + u64(0)
        out += t_string(b"task square") + t_string(b"proc") + t_string(b"x=%d" % i)
    return out


def encoded_call(name, arguments):
    return u32(len(name)) + name + arguments


def write(target, seeds):
    folder = ROOT / target
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("seed_*"):
        old.unlink()
    for name, data in seeds.items():
        (folder / f"seed_{name}").write_bytes(data)


def main():
    strings = c_vector([c_string(b"alpha"), c_string(b"beta")])
    error_pair = c_string(b"std::runtime_error") + c_string(b"disk full")
    write("proc_frame", {
        "result": u8(5) + frame("hello", 99, b"") + frame("result", 1, strings),
        "error": u8(0) + frame("error", 2, error_pair),
        "trace_spans": u8(13) + frame("trace_spans", 0, span_pack()) + frame("result", 3, strings),
        "map_result": u8(1) + frame("result", 4, u64(1) + c_string(b"k") + c_vector([u64(7), u64(8)])),
    })
    write("proc_codec", {
        "strings": u8(0) + strings,
        "map": u8(1) + u64(2) + c_string(b"a") + c_vector([i32(1), i32(2)]) + c_string(b"b") + c_vector([]),
        "nested": u8(2) + c_vector([c_vector([u64(1), u64(2)]), c_vector([])]),
        # optional (a flag byte, then the value), variant (a 32-bit index, then the alternative).
        "optional_variant": u8(3) + u8(1) + c_string(b"name") + i32(1) + c_string(b"text"),
        "deque_of_sets": u8(4) + c_vector([c_vector([c_string(b"x"), c_string(b"y")])]),
        "pair": u8(5) + error_pair,
    })
    write("proc_task", {
        # byte 0: 0 one call (a tuple of the arguments), 1 a chunk (a vector of argument tuples).
        "count_words": u8(0) + encoded_call(b"count_words", strings + u64(1) + c_string(b"alpha") + i32(3)),
        "sum": u8(0) + encoded_call(b"sum", c_vector([u64(1), u64(2), u64(3)])),
        "sum_chunk": u8(1) + encoded_call(b"sum", c_vector([c_vector([u64(5)]), c_vector([])])),
        "describe": u8(0) + encoded_call(b"describe", u8(1) + c_string(b"n") + i32(0) + i32(7)),
        "unknown": u8(0) + encoded_call(b"not_registered", b""),
    })

    def entry(kind, ident, payload, flags=0):
        e = frame(kind, ident, payload, flags)
        return e + b"\0" * (-len(e) % 8)
    ring_entries = entry("result", 1, strings) + entry("error", 2, error_pair) + entry("trace_spans", 0, span_pack(1))
    on_socket = entry("result", 3, b"", flags=1)[:16] + u64(100000) + b""
    write("proc_ring", {
        "entries": u64(0) + u64(len(ring_entries)) + ring_entries,
        "wrapping": u64((1 << 20) - 48) + u64(48 + len(ring_entries)) + b"\0" * 48 + ring_entries,
        "on_socket": u64(64) + u64(len(on_socket)) + on_socket,
        "arena": u64(0) + u64(40) + entry("result", 5, u64(128) + u64(64), flags=2),
    })
    # A queue's memfd: the header (magic, slot size, capacity, message size, ...) then slots of
    # (sequence, owner tag, owner start, length, reserved) and the message. Byte 1 says how many
    # bytes are laid over the memfd before the queue is attached (at the 64-byte line byte 0's
    # low 3 bits choose); the rest are written after it is attached (at the line its high 5 bits
    # choose).
    def queue_input(at, before, after=b"", later_at=0):
        return u8(at | later_at << 3) + u8(len(before)) + before + after
    write("proc_queue", {
        "header_sizes": queue_input(0, u32(0) + u32(128) + u64(4) + u64(64)),
        "huge_message_size": queue_input(0, b"\0" * 8 + u64(4) + u64(1 << 40)),
        "slot_length": queue_input(7, u64(0) * 3 + u32(0xFFFFFFF0)),
        "nothing": queue_input(3, b"\0"),
        # Written after attaching: the tail and head hints (lines 1 and 2), and the geometry.
        "hints_after_attach": queue_input(0, b"", u64(1 << 56) + b"\0" * 56 + u64(3), later_at=1),
        "geometry_after_attach": queue_input(0, b"", u32(0x52445254) + u32(64 << 20) + u64(1 << 40) + u64(1 << 40)),
    })
    write("cluster_messages", {
        "ready": u8(0) + u8(1) + u64(4) + c_string(b"host-a") + i32(1234) + c_string(b""),
        "ready_failed": u8(0) + u8(0) + u64(0) + c_string(b"host-b") + i32(99) + c_string(b"no such executor"),
        "result_value": u8(1) + u64(7) + u8(0) + b"\0" * 7 + i32(49),
        "result_exception": u8(1) + u64(8) + u8(1) + b"\0" * 7 + error_pair,
        "result_crashed": u8(1) + u64(9) + u8(2) + b"\0" * 7 + c_string(b"worker died") + i32(77) + i32(11) + i32(-1),
        "result_timed_out": u8(1) + u64(10) + u8(3) + b"\0" * 7 + c_string(b"too slow") + i32(78),
    })
    write("trace_spans", {"one_pack": span_pack(), "two_packs": span_pack(1, 1) + span_pack(2, 3)})
    write("http_fetch_list", {
        "list": b"# downloads\nhttps://example.com/files/report.pdf\n\nhttp://example.com/a%2Fb/..%2F..%2Fetc\tpasswd\n"
                b"https://example.com/dir/\t  my file.txt  \nhttps://example.com/caf%C3%A9.tar.gz?x=1#frag\n",
        "names": b"https://h/.hidden\thttps://h/\nhttps://h/" + b"x" * 300 + b".extension\n",
        "dots": b"https://h/..\nhttps://h/%2e%2e\nhttps://h/a/%00b\n",
    })
    write("http_headers", {
        "plain": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1234\r\n\r\n",
        "redirect": b"HTTP/1.1 301 Moved\r\nLocation: https://example.com/new/place/file%20name.bin\r\n\r\n"
                    b"HTTP/2 200\r\ncontent-length: 5\r\n\r\n",
        "retry": b"HTTP/1.1 503 Busy\r\nRetry-After: 120\r\n\r\n",
        "retry_date": b"HTTP/1.1 429 Slow down\r\nRetry-After: Wed, 21 Oct 2026 07:28:00 GMT\r\n\r\n",
        "odd": b": no name\r\nX-Empty:\r\n   Folded: value  \r\nLocation: ../../etc/passwd\r\n",
    })
    # A ggml Whisper model (media/model_file.hpp): magic, 11 hyperparameters, mel filters,
    # vocabulary, then tensor headers (dims, name length, type, shape, name) and data.
    hparams = [51864, 1500, 8, 2, 1, 448, 8, 2, 1, 4, 0]
    model = u32(0x67676d6c) + b"".join(i32(v) for v in hparams)
    model += i32(2) + i32(3) + b"\0" * (2 * 3 * 4)
    model += i32(2) + t_string(b"hi") + t_string(b"!")
    tensor = i32(2) + i32(7) + i32(0) + i32(2) + i32(2) + b"weights" + b"\0" * 16
    write("media_model", {
        "header_vocabulary_tensor": model + tensor,
        "truncated_tensor": model + tensor[:-8],
        "bad_magic": b"GGUF" + b"\0" * 40,
    })

    # Audio files as FFmpeg writes them (`ffmpeg`, Debian's package, makes them; without it the
    # folder keeps the seeds it has): a tenth of a second of a tone, 8 kHz mono (stereo for one),
    # in the containers and codecs the media tests decode, each a few kilobytes at most, plus the
    # FLAC one with a STREAMINFO that claims 2^36 - 1 samples (99 days at 8 kHz).
    audio = {}
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg:
        formats = {"wav": ["-c:a", "pcm_s16le"], "wav_float": ["-c:a", "pcm_f32le"], "mp3": ["-c:a", "libmp3lame"],
                   "flac": ["-c:a", "flac"], "ogg": ["-c:a", "libopus", "-ar", "48000"], "m4a": ["-c:a", "aac"],
                   "stereo_wav": ["-ac", "2", "-c:a", "pcm_u8"]}
        with tempfile.TemporaryDirectory() as tmp:
            for name, codec in formats.items():
                extension = {"wav_float": "wav", "stereo_wav": "wav"}.get(name, name)
                out = pathlib.Path(tmp) / f"{name}.{extension}"
                subprocess.run([ffmpeg, "-v", "error", "-f", "lavfi", "-i", "sine=f=440:d=0.1:r=8000", *codec,
                                "-map_metadata", "-1", "-fflags", "+bitexact", str(out)], check=True)
                audio[name] = out.read_bytes()
        # STREAMINFO's data starts at byte 8; the low 36 bits of its bytes 10 to 17 count samples.
        claims = bytearray(audio["flac"])
        claims[18:26] = (int.from_bytes(claims[18:26], "big") | (1 << 36) - 1).to_bytes(8, "big")
        audio["flac_claims_days"] = bytes(claims)
        write("media_audio", audio)
    else:
        print("make_corpus: no ffmpeg; fuzz/corpus/media_audio is left as it is")

if __name__ == "__main__":
    main()
