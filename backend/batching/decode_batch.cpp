#include "backend/batching/decode_batch.hpp"

#include "backend/batching/sampler.hpp"

#include <algorithm>

namespace modelgate::backend {

decode_batch::decode_batch(std::int64_t state_size, std::int64_t vocab, std::size_t max_batch)
    : state_size_(state_size), vocab_(vocab), max_batch_(max_batch) {}

void decode_batch::join(generation g) {
  if (g.prompt.empty()) g.prompt.push_back('\n');
  sequence s{std::move(g), 0, 0, 0, std::vector<float>(static_cast<std::size_t>(state_size_)),
             std::mt19937_64{}};
  s.rng.seed(s.g.seed);
  seqs_.push_back(std::move(s));
}

std::size_t decode_batch::step(const step_fn& model) {
  // A client that went away leaves before the model call: no tokens for nobody.
  std::erase_if(seqs_, [](const sequence& s) { return s.g.cancelled->load(); });
  const std::size_t n = seqs_.size();
  if (n == 0) return 0;
  const auto ss = static_cast<std::size_t>(state_size_);
  tokens_.resize(n);
  states_.resize(n * ss);
  logits_.resize(n * static_cast<std::size_t>(vocab_));
  for (std::size_t i = 0; i < n; ++i) {
    auto& s = seqs_[i];
    tokens_[i] = s.fed < s.g.prompt.size() ? s.g.prompt[s.fed++] : s.last;
    std::copy(s.state.begin(), s.state.end(), states_.begin() + static_cast<long>(i * ss));
  }
  model(tokens_, states_, logits_);
  for (std::size_t i = 0; i < n; ++i) {
    auto& s = seqs_[i];
    auto from = states_.begin() + static_cast<long>(i * ss);
    std::copy(from, from + static_cast<long>(ss), s.state.begin());
    // Still reading the prompt: nothing to emit yet.
    if (s.fed < s.g.prompt.size()) continue;
    std::span<const float> row(logits_.data() + i * static_cast<std::size_t>(vocab_),
                               static_cast<std::size_t>(vocab_));
    s.last = sample_token(row, s.g.temperature, s.rng);
    ++s.generated;
    ++emitted_;
    token_event e;
    e.token = s.last;
    e.prompt_tokens = s.g.prompt.size();
    e.completion_tokens = s.generated;
    if (s.generated >= s.g.max_tokens) e.finish = finish_reason::length;
    s.g.emit(e);
  }
  std::erase_if(seqs_, [](const sequence& s) { return s.generated >= s.g.max_tokens; });
  return n;
}

}  // namespace modelgate::backend
