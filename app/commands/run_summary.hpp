#pragma once
// The summary a command prints after a run over many items (`trident fetch`, `trident
// transcribe`): a table of rows, then a line of totals.

#include <cstddef>
#include <cstdio>
#include <string>
#include <utility>

namespace trident::cli {

/// The rows of a summary table, printed to stdout as the command makes them: a row for every
/// item when there are few (`all_rows_up_to`), otherwise only for the items that did not
/// succeed; the header line before the first row, none when no row is printed. Not thread safe.
class summary_rows {
 public:
  static constexpr std::size_t all_rows_up_to = 30;

  summary_rows(std::size_t items, std::string header) noexcept
      : all_(items <= all_rows_up_to), header_(std::move(header)) {}

  /// Whether the item gets a row; prints the header first when it is the first row. Print the
  /// row when it says yes.
  bool begin_row(bool succeeded) {
    if (!all_ && succeeded) return false;
    if (!header_printed_) {
      std::printf("%s\n", header_.c_str());
      header_printed_ = true;
    }
    return true;
  }

 private:
  bool all_;
  std::string header_;
  bool header_printed_ = false;
};

/// How many items ended each way. `Outcome` is an enum with the enumerators ok, skipped, failed
/// and cancelled (http::fetch_outcome, media::file_outcome).
struct outcome_tally {
  std::size_t ok = 0, skipped = 0, failed = 0, cancelled = 0;

  template <class Outcome>
  void add(Outcome o) noexcept {
    switch (o) {
      case Outcome::ok:
        ++ok;
        break;
      case Outcome::skipped:
        ++skipped;
        break;
      case Outcome::failed:
        ++failed;
        break;
      case Outcome::cancelled:
        ++cancelled;
        break;
    }
  }

  /// "TOTAL NOUN: A ok, B skipped, C failed, D cancelled", the start of the totals line.
  [[nodiscard]] std::string text(std::size_t total, const char* noun) const;
};

}  // namespace trident::cli
