#pragma once
/// @file
/// `trident::atomic_file`: a file that appears under its name complete, or not at all. What
/// `http::session::save_to`, `trident fetch` and every other Trident writer of whole files use.

#include <filesystem>
#include <span>
#include <system_error>
#include <utility>
#include <vector>

namespace trident {

/// Writes a file so that its name shows either nothing (or the old file) or the complete new
/// content: never a half-written file, whatever happens to the writer.
///
/// How:
///   1. Where the file system supports it, the content goes into an *unnamed* file made with
///      `O_TMPFILE` in the target's directory. It has no name until `commit()` gives it one
///      (`linkat` of `/proc/self/fd/N`, or `AT_EMPTY_PATH` where /proc is missing), so a writer
///      that is interrupted, throws, or is killed (even SIGKILL) leaves nothing behind: the
///      kernel frees the file with its last descriptor.
///   2. Elsewhere (file systems without `O_TMPFILE`, or `options::unnamed_temporary = false`) it
///      goes into a named temporary `<target>.part-<pid>-<n>` beside the target, created with
///      `O_EXCL` (never someone else's file) and renamed onto the target by `commit()`. An
///      abandoned file removes its temporary; only a killed writer leaves one, and its name
///      says which process made it.
///
/// Existing target: replacing it is a decision of the caller (`options::if_exists`). `refuse`
/// (the default) fails with `EEXIST` — checked when the file is created, so no work is wasted,
/// and again atomically when it is committed (`linkat`, or `renameat2(RENAME_NOREPLACE)`), so a
/// file that appeared meanwhile is not clobbered either. `replace` swaps the new file in with
/// one `rename`: readers see the old content or the new, never a mix. (An unnamed file is first
/// linked under a temporary name and then renamed: a writer killed between those two calls
/// leaves that temporary.)
///
/// Durability: `commit()` does not fsync unless `options::durable` is set. The guarantee above is
/// against failing *processes* (the page cache survives them); surviving a power cut as well
/// costs an fsync of the file and of its directory, milliseconds each on a disk, which would
/// dominate a burst of small downloads that can simply be fetched again. With `durable`,
/// `commit()` fsyncs the file before it gets its name and the directory after, so once
/// `commit()` returns the name and the content are both on disk. (Should only that last
/// directory fsync fail, `commit()` throws with the file already under its name.)
///
/// Errors: every failure throws `std::system_error` with the errno (`ENOSPC`, `EEXIST`, ...) and
/// the path in its message; `write` retries `EINTR` and short writes. After a failed `write` or
/// `commit` the caller may only `abandon` (or destroy): nothing is left behind.
///
/// @par Thread safety
/// One object, one thread at a time (no internal locking). Different objects are independent,
/// also when they aim at the same target: with `refuse` exactly one commit succeeds, with
/// `replace` the last one wins. All calls block in the kernel (file I/O); from an event loop they
/// cost what a local disk write costs.
///
/// @par Cancellation
/// Not a cancellation point itself. A task cancelled while it owns an `atomic_file` abandons it
/// when the object is destroyed during unwinding.
///
/// @code
///   trident::atomic_file f("out/report.json", {.if_exists = trident::atomic_file::existing::replace});
///   f.write(text);
///   f.commit();  // "out/report.json" now holds all of `text`; before, it held the old file
/// @endcode
class atomic_file {
 public:
  enum class existing {
    refuse,   ///< The target must not exist: EEXIST.
    replace,  ///< An existing target is replaced atomically.
  };

  struct options {
    existing if_exists = existing::refuse;
    /// fsync the file and its directory in `commit()` (see "Durability").
    bool durable = false;
    /// Use an unnamed `O_TMPFILE` file where the file system supports it. False forces the named
    /// temporary (tests, or a reader that must see the temporary while it is written).
    bool unnamed_temporary = true;
    /// Permissions of the new file, less the umask (as `open` would give it).
    unsigned mode = 0666;
  };

  /// Starts the file that `commit()` will name `target`. Throws `std::system_error`: the
  /// directory cannot take a file, or (with `existing::refuse`) `target` exists already.
  explicit atomic_file(std::filesystem::path target, options opts);
  explicit atomic_file(std::filesystem::path target) : atomic_file(std::move(target), options{}) {}
  atomic_file(atomic_file&& other) noexcept;
  atomic_file& operator=(atomic_file&& other) noexcept;
  atomic_file(const atomic_file&) = delete;
  atomic_file& operator=(const atomic_file&) = delete;
  /// Abandons the file unless it was committed.
  ~atomic_file();

  /// Appends `bytes`. Throws `std::system_error` (e.g. ENOSPC, EFBIG).
  void write(std::span<const char> bytes);
  /// The same, reporting the failure in `ec` instead (for callers that must not throw, such as a
  /// libcurl write callback).
  void write(std::span<const char> bytes, std::error_code& ec) noexcept;

  /// Drops everything written so far: the next write starts at byte 0 (a retried download).
  void rewind();

  /// Gives the file its name. Throws `std::system_error` (then nothing is left behind).
  void commit();

  /// Drops the file and its temporary. Idempotent; also what the destructor does.
  void abandon() noexcept;

  /// A named temporary that `remove_stale_temporaries` removed.
  struct stale_temporary {
    std::filesystem::path path;
    int writer_pid = 0;  ///< the process that wrote it (the PID in its name), which no longer runs
  };

  /// Removes from `directory` the named temporaries that killed writers left behind (see "How",
  /// step 2), and returns them: what a program that writes into a folder again runs first, as
  /// `trident fetch` does. An entry of `directory` (not of its subfolders) is stale when
  ///   - its name is one this class gives a temporary, `<target>.part-<pid>-<n>`;
  ///   - `<pid>` is not this process (whose writers are alive) and names no process at all
  ///     (`kill(pid, 0)` fails with `ESRCH`). A PID that a new process has taken since keeps its
  ///     file: a live writer's temporary is never removed, a dead one's may stay;
  ///   - it is a regular file (not a link or a folder) owned by this process's effective user:
  ///     another user's leftovers are theirs to remove.
  ///
  /// Errors: throws `std::system_error` when `directory` cannot be listed, before it removes
  /// anything. A temporary that cannot be removed, or that another caller removed first, is
  /// left out of the result.
  ///
  /// @par Thread safety
  /// Safe to call from any thread, also while this process and others write into `directory`
  /// (their temporaries are those of live PIDs), and from several threads or processes at once
  /// on the same folder: each temporary is removed and reported once. Blocks in the kernel: a
  /// `lstat`, a `kill` and an `unlink` for each name that fits.
  static std::vector<stale_temporary> remove_stale_temporaries(const std::filesystem::path& directory);

  /// The descriptor being written, for writers that write on their own; what they write counts
  /// as content. -1 once committed or abandoned. Do not close it.
  [[nodiscard]] int native_handle() const noexcept { return fd_; }
  /// Whether the content goes into an unnamed `O_TMPFILE` file (else a named temporary). Meaningful
  /// until `commit` or `abandon`.
  [[nodiscard]] bool unnamed() const noexcept { return temporary_.empty(); }
  [[nodiscard]] const std::filesystem::path& target() const noexcept { return target_; }

 private:
  void link_unnamed_to(const std::filesystem::path& name);
  void publish_unnamed();
  void publish_named();

  std::filesystem::path target_;
  std::filesystem::path temporary_;  // empty: unnamed (O_TMPFILE)
  options options_;
  int fd_ = -1;
};

}  // namespace trident
