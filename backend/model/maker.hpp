#pragma once
// make-model and eval: the demo models built, trained and measured in C++ (torch-free header).

#include "backend/model/model.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace modelgate::backend {

struct make_options {
  std::string kind;  // classifier | textgen
  std::filesystem::path out;
  std::uint64_t seed = 1;
  int steps = -1;                   // -1: the kind's default (a few seconds of training)
  std::filesystem::path train_on;   // textgen: training text ("" = built-in corpus)
};

/// Builds, trains and saves a demo model; returns a one-line summary (held-out accuracy for the
/// classifier, a sample for textgen). Throws std::runtime_error on bad options or I/O errors.
std::string make_model(const make_options& options);

/// One compression variant of a classifier measured on the held-out set.
struct variant_report {
  std::string name;          // fp32, int8, bf16
  std::size_t bytes = 0;     // as torch::jit::save writes it
  double accuracy = 0;       // held-out top-1, percent
  double agreement = 0;      // top-1 agreement with fp32, percent
  double ms_batch1 = 0;      // median latency of one image
  double ms_batch16 = 0;     // median latency of a batch of 16
};

/// Loads a classifier made by make-model and measures fp32, int8 and bf16 on `heldout` images.
std::vector<variant_report> evaluate_classifier(const std::filesystem::path& model, int heldout,
                                                int latency_runs);

}  // namespace modelgate::backend
