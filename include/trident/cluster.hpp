#pragma once
/// @file
/// The cluster layer's umbrella (not part of trident/trident.hpp: it brings MPI): registered
/// tasks on the ranks of an `mpirun` job, with the process pool's interface. Link
/// `trident::cluster`; see docs/cluster.md.

#include "trident/cluster/cluster_pool.hpp"
#include "trident/cluster/errors.hpp"
#include "trident/cluster/worker_main.hpp"
