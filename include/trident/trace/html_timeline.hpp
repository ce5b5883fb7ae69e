#pragma once
/// @file
/// The timeline as one self-contained HTML page that a person opens in a browser: a lane per
/// thread, grouped by process (worker processes included), a bar per span coloured by category,
/// zoom and pan, and each lane's busy share of the traced time. The page needs no network and
/// no other file: its script, styles and the trace itself are inside it.
///
/// It shows the same spans and names as `write_chrome_json` (this process's spans and those
/// imported from worker processes with `import_spans`). Times on the page count from the
/// earliest span.

#include <iosfwd>
#include <string>

namespace trident::trace {

/// Writes every span recorded so far, with its process's and thread's names, as one HTML page.
/// Details and names are embedded as escaped JSON, so no recorded text can end the page's
/// script early. Thread safe (spans that end concurrently may be left out); blocks only on `out`.
///
/// @code
///   trident::trace::start();
///   run_the_work();
///   trident::trace::stop();
///   std::ofstream page("timeline.html");
///   trident::trace::write_html_timeline(page);
/// @endcode
void write_html_timeline(std::ostream& out);

/// Writes the HTML page to `path` as a `trident::atomic_file` (replacing an existing file), so a
/// failure never leaves half a page. Throws std::system_error on I/O failure.
void write_html_timeline_file(const std::string& path);

}  // namespace trident::trace
