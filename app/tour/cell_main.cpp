// The main of every standalone lesson binary (lesson_NN_<slug>): runs the one cell that CMake
// names in TRIDENT_LESSON_CELL. The cell itself is compiled once, into trident_lesson_cells (or,
// for the heavy cells, into a library of its own that this program links: TRIDENT_LESSON_CELL_FN).

#include <cstdio>
#include <exception>

#include "cell.hpp"
#include "trident/proc/worker_main.hpp"

#ifndef TRIDENT_LESSON_CELL
#error "TRIDENT_LESSON_CELL must name the cell this binary runs"
#endif

int main(int argc, char** argv) {
  // The process cells re-execute this binary as their workers, and the choosing cell's scenario
  // services (loopback server, PostgreSQL: detached processes) re-execute it too.
  if (auto rc = trident::proc::worker_main(argc, argv)) return *rc;
  try {
#if defined(TRIDENT_LESSON_CELL_FN)
    return trident::lesson::run_single(TRIDENT_LESSON_CELL, &trident::lesson::TRIDENT_LESSON_CELL_FN);
#else
    return trident::lesson::run_single(TRIDENT_LESSON_CELL);
#endif
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
