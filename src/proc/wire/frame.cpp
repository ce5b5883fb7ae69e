// The worker channel's frames: decoding (hardened against any byte sequence: the fuzz test
// feeds it random input), encoding, and the socket I/O that carries descriptors along.

#include "trident/proc/detail/frame.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#include "trident/proc/detail/memory_file.hpp"
#include "trident/proc/errors.hpp"

namespace trident::proc::detail {

namespace {

struct header {
  std::uint32_t magic;
  std::uint8_t kind;
  std::uint8_t flags;
  std::uint16_t attachments;
  std::uint64_t id;
  std::uint64_t size;
};
static_assert(sizeof(header) == frame_header_size);

void write_header(std::string& out, frame_kind kind, std::uint8_t flags, std::uint64_t id, std::uint64_t size,
                  std::uint16_t attachments = 0) {
  const header h{frame_magic, static_cast<std::uint8_t>(kind), flags, attachments, id, size};
  out.append(reinterpret_cast<const char*>(&h), sizeof h);
}

bool known_kind(std::uint8_t k) noexcept {
  return k >= static_cast<std::uint8_t>(frame_kind::hello) && k <= static_cast<std::uint8_t>(frame_kind::channel);
}

[[noreturn]] void throw_errno(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

}  // namespace

owned_fd& owned_fd::operator=(owned_fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

owned_fd::~owned_fd() {
  if (fd_ >= 0) ::close(fd_);
}

shm_mapping::shm_mapping(int fd, std::size_t size) : size_(size) {
  if (size == 0) return;
  // MAP_POPULATE: one walk over the pages instead of a fault per page as the decoder reads.
  addr_ = ::mmap(nullptr, size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (addr_ == MAP_FAILED) {
    addr_ = nullptr;
    throw protocol_error("cannot map a shared-memory payload: " + std::string(std::strerror(errno)));
  }
}

shm_mapping::~shm_mapping() {
  if (addr_ != nullptr) ::munmap(addr_, size_);
}

frame_reader::~frame_reader() {
  for (int fd : fds_) ::close(fd);
}

char* frame_reader::prepare(std::size_t min, std::size_t& room) {
  if (begin_ == end_) {
    begin_ = end_ = 0;
  } else if (begin_ > 0 && buf_.size() - end_ < min) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (buf_.size() - end_ < min) buf_.resize(end_ + min);
  room = buf_.size() - end_;
  return buf_.data() + end_;
}

void frame_reader::feed(std::string_view bytes) {
  if (bytes.empty()) return;  // memcpy from a null view is undefined even for 0 bytes
  std::size_t room = 0;
  char* p = prepare(bytes.size(), room);
  std::memcpy(p, bytes.data(), bytes.size());
  commit(bytes.size());
}

std::optional<frame> frame_reader::next() {
  if (end_ - begin_ < frame_header_size) return std::nullopt;
  header h;
  std::memcpy(&h, buf_.data() + begin_, sizeof h);
  if (h.magic != frame_magic) {
    throw protocol_error("worker channel: bad frame magic (stream corrupted or not a Trident worker)");
  }
  if (!known_kind(h.kind)) throw protocol_error("worker channel: unknown frame kind " + std::to_string(h.kind));
  if ((h.flags & ~flag_shm) != 0) throw protocol_error("worker channel: reserved header bits set");
  if (h.attachments != 0 && (!(h.flags & flag_shm) || h.attachments > max_attachments)) {
    throw protocol_error("worker channel: descriptors announced on a frame that cannot carry them");
  }
  frame f;
  f.kind = static_cast<frame_kind>(h.kind);
  f.id = h.id;
  if (h.flags & flag_shm) {
    if (h.size > max_shm_payload) throw protocol_error("worker channel: shared-memory payload size out of range");
    if (fds_.size() < 1u + h.attachments) {
      throw protocol_error("worker channel: shared-memory frame arrived without its descriptors");
    }
    const int fd = fds_.front();
    fds_.pop_front();
    for (std::uint16_t i = 0; i < h.attachments; ++i) {
      f.attachments.emplace_back(fds_.front());
      fds_.pop_front();
    }
    if (f.kind == frame_kind::channel) {  // the descriptor itself is the payload
      f.descriptor = owned_fd(fd);
      begin_ += frame_header_size;
      return f;
    }
    std::uint64_t file_size = 0;
    try {
      file_size = sealed_memory_file_size(fd, "worker channel: a shared-memory payload");
    } catch (...) {
      ::close(fd);
      throw;
    }
    if (file_size < h.size) {
      ::close(fd);
      throw protocol_error("worker channel: shared-memory payload shorter than its frame says");
    }
    try {
      f.mapping = std::make_unique<shm_mapping>(fd, static_cast<std::size_t>(h.size));
    } catch (...) {
      ::close(fd);
      throw;
    }
    ::close(fd);
    f.payload = f.mapping->bytes();
    begin_ += frame_header_size;
    return f;
  }
  if (h.size > max_inline_payload) throw protocol_error("worker channel: frame length out of range");
  if (end_ - begin_ < frame_header_size + h.size) return std::nullopt;
  f.payload = std::string_view(buf_.data() + begin_ + frame_header_size, static_cast<std::size_t>(h.size));
  begin_ += frame_header_size + static_cast<std::size_t>(h.size);
  return f;
}

void append_frame(std::string& out, frame_kind kind, std::uint64_t id, std::string_view payload) {
  write_header(out, kind, 0, id, payload.size());
  out.append(payload);
}

void append_shm_header(std::string& out, frame_kind kind, std::uint64_t id, std::uint64_t size) {
  write_header(out, kind, flag_shm, id, size);
}

int make_payload_fd(std::string_view payload) {
  const int fd = make_memory_file("trident-payload");
  std::size_t done = 0;
  while (done < payload.size()) {
    const ssize_t n = ::write(fd, payload.data() + done, payload.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      throw std::system_error(e, std::generic_category(), "write to memfd");
    }
    done += static_cast<std::size_t>(n);
  }
  try {
    seal_memory_file_size(fd);
  } catch (...) {
    ::close(fd);
    throw;
  }
  return fd;
}

frame_writer::~frame_writer() {
  for (auto& c : chunks_) {
    for (int fd : c.fds) ::close(fd);
  }
}

frame_writer::chunk& frame_writer::open_chunk() {
  // Small frames share a chunk (one sendmsg for many); a chunk grows up to 256 KiB.
  if (chunks_.empty() || chunks_.back().data.size() > 256 * 1024) chunks_.emplace_back();
  return chunks_.back();
}

void frame_writer::add(frame_kind kind, std::uint64_t id, std::string_view payload) {
  if (payload.size() >= shm_threshold) {
    add_fd(kind, id, make_payload_fd(payload), payload.size());
    return;
  }
  append_frame(open_chunk().data, kind, id, payload);
}

void frame_writer::add_fd(frame_kind kind, std::uint64_t id, int fd, std::uint64_t size) {
  add_fd(kind, id, fd, size, {});
}

void frame_writer::add_fd(frame_kind kind, std::uint64_t id, int fd, std::uint64_t size, std::vector<int> attachments) {
  if (attachments.size() > max_attachments) {
    ::close(fd);
    for (int a : attachments) ::close(a);
    throw std::length_error("worker channel: more than " + std::to_string(max_attachments) +
                            " descriptors in one frame");
  }
  // The descriptors ride on the first byte of a fresh chunk, and the header is that first byte.
  chunk& c = chunks_.emplace_back();
  c.fds.reserve(1 + attachments.size());
  c.fds.push_back(fd);
  c.fds.insert(c.fds.end(), attachments.begin(), attachments.end());
  write_header(c.data, kind, flag_shm, id, size, static_cast<std::uint16_t>(attachments.size()));
}

void frame_writer::add_shared_fd(frame_kind kind, std::uint64_t id, int fd, std::uint64_t size) {
  const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) throw_errno("dup of a payload memfd");
  add_fd(kind, id, copy, size);
}

bool frame_writer::flush(int socket) {
  while (!chunks_.empty()) {
    chunk& c = chunks_.front();
    iovec iov{c.data.data() + c.sent, c.data.size() - c.sent};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * (1 + max_attachments))];
    if (!c.fds.empty() && c.sent == 0) {
      const std::size_t bytes = sizeof(int) * c.fds.size();
      std::memset(control, 0, sizeof control);
      msg.msg_control = control;
      msg.msg_controllen = CMSG_SPACE(bytes);
      cmsghdr* cm = CMSG_FIRSTHDR(&msg);
      cm->cmsg_level = SOL_SOCKET;
      cm->cmsg_type = SCM_RIGHTS;
      cm->cmsg_len = CMSG_LEN(bytes);
      std::memcpy(CMSG_DATA(cm), c.fds.data(), bytes);
    }
    const ssize_t n = ::sendmsg(socket, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      if (errno == EPIPE || errno == ECONNRESET) return false;
      throw_errno("sendmsg on worker channel");
    }
    if (!c.fds.empty() && c.sent == 0) {
      for (int fd : c.fds) ::close(fd);  // the peer holds its own copies now
      c.fds.clear();
    }
    c.sent += static_cast<std::size_t>(n);
    if (c.sent == c.data.size()) chunks_.pop_front();
  }
  return true;
}

long read_into(int socket, frame_reader& reader) {
  std::size_t room = 0;
  char* p = reader.prepare(64 * 1024, room);
  iovec iov{p, room};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  // Room for the most one frame brings (its payload's descriptor and its attachments) and more.
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 2 * (1 + max_attachments))];
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return -1;
    if (errno == ECONNRESET) return 0;
    throw_errno("recvmsg on worker channel");
  }
  for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm != nullptr; cm = CMSG_NXTHDR(&msg, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
      reader.push_fd(fd);
    }
  }
  if (msg.msg_flags & MSG_CTRUNC) throw protocol_error("worker channel: descriptors lost (control data truncated)");
  reader.commit(static_cast<std::size_t>(n));
  return n;
}

}  // namespace trident::proc::detail
