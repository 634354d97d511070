#pragma once
// --config for models that do not describe themselves: input/output names and shapes.
//   input:  { name: input, shape: [-1, 3, 64, 64] }   # -1 (or any value) first: the batch
//   output: { name: output }                           # shape optional, checked if given

#include "backend/model/model.hpp"

#include <filesystem>

namespace modelgate::backend {

/// Throws std::runtime_error naming the file and the problem.
io_override load_io_config(const std::filesystem::path& path);

}  // namespace modelgate::backend
