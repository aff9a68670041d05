// snc: networks as C++ types, every shape checked while the program compiles.
// This header needs only Boost (Hana). Compiling a network is snc_add_model's business (CMake),
// through the Halide lowering in <snc/halide/lower.hpp>.
#pragma once

#include <snc/shape.hpp>
#include <snc/layers/activation.hpp>
#include <snc/layers/block.hpp>
#include <snc/layers/channel.hpp>
#include <snc/layers/conv.hpp>
#include <snc/layers/dense.hpp>
#include <snc/layers/dropout.hpp>
#include <snc/layers/norm.hpp>
#include <snc/layers/pool.hpp>
#include <snc/network.hpp>
#include <snc/graph.hpp>
#include <snc/summary.hpp>
