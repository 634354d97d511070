#pragma once
// The torch-free face of a loaded model: what the HTTP and batching code sees. The torch side
// (loader.cpp) implements these; nothing here includes a torch header.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace modelgate::backend {

/// How weights are stored and computed after loading.
enum class quantize_mode { none, int8, bf16 };

/// Parses "none", "int8" or "bf16"; throws std::invalid_argument otherwise.
quantize_mode parse_quantize(const std::string& text);
const char* to_string(quantize_mode q);

/// A named FP32 tensor; shape[0] is the batch dimension and is reported as -1.
struct tensor_spec {
  std::string name;
  std::vector<std::int64_t> shape;

  /// Product of every dimension after the batch one.
  std::int64_t row_size() const;
};

/// Shapes from --config, for models whose inputs cannot be discovered.
struct io_override {
  std::optional<tensor_spec> input;
  std::optional<tensor_spec> output;
};

struct load_options {
  quantize_mode quantize = quantize_mode::none;
  io_override io;
};

/// A model with one FP32 input and one FP32 output, batch dimension first. run() may be called
/// from several worker threads at once (serve --workers N; a TorchScript forward is safe to call
/// concurrently); the specs are immutable after loading.
class tensor_model {
 public:
  virtual ~tensor_model() = default;
  virtual const tensor_spec& input() const = 0;
  virtual const tensor_spec& output() const = 0;
  /// `batch` rows of input().row_size() floats → batch rows of output().row_size() floats.
  virtual std::vector<float> run(std::span<const float> rows, std::int64_t batch) = 0;
};

/// A byte-level autoregressive model with a fixed-size recurrent state per sequence.
/// step() is called from one worker thread at a time.
class text_model {
 public:
  static constexpr int vocab = 256;
  virtual ~text_model() = default;
  /// Floats of state per sequence (zeros start a sequence).
  virtual std::int64_t state_size() const = 0;
  /// One decode step for tokens.size() sequences: `states` holds their states back to back and
  /// is updated in place; `logits` receives tokens.size() * vocab values.
  virtual void step(std::span<const std::int64_t> tokens, std::span<float> states,
                    std::span<float> logits) = 0;
};

/// Loads a TorchScript file (ours or any torch.jit.save output). Throws std::runtime_error with
/// the reason (unreadable file, no input shape, quantization not possible for this model).
std::unique_ptr<tensor_model> load_tensor_model(const std::filesystem::path& path,
                                                const load_options& options);
std::unique_ptr<text_model> load_text_model(const std::filesystem::path& path,
                                            const load_options& options);

/// libtorch intra-op threads for the whole process (1.13 defaults to half the cores).
void set_torch_threads(int threads);

}  // namespace modelgate::backend
