// The main of every standalone lesson binary (lesson_NN_<slug>): runs the one cell that CMake
// names in TRIDENT_LESSON_CELL. The cell itself is compiled once, into trident_lesson_cells (or,
// for the heavy cells, into a library of its own that this program links: TRIDENT_LESSON_CELL_FN).

#include <cstdio>
#include <exception>

#include "cell.hpp"
#include "trident/proc/worker_main.hpp"
#if defined(TRIDENT_LESSON_SERVICES)
#include "service_process.hpp"
#endif

#ifndef TRIDENT_LESSON_CELL
#error "TRIDENT_LESSON_CELL must name the cell this binary runs"
#endif

int main(int argc, char** argv) {
  // The process cells re-execute this binary as their workers.
  if (auto rc = trident::proc::worker_main(argc, argv)) return *rc;
#if defined(TRIDENT_LESSON_SERVICES)
  // The choosing cell starts scenario services (loopback server, PostgreSQL), which re-execute it too.
  if (auto rc = trident::scenarios::service_main(argc, argv)) return *rc;
#endif
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
