#include "backend/model/textgen_net.hpp"

#include <spdlog/spdlog.h>
#include <torch/optim/adam.h>

#include <cmath>
#include <random>

namespace modelgate::backend::textgen_net {
namespace {

// The embedding has the hidden width so every layer's input weights stack into one tensor.
constexpr const char* source = R"JIT(
def step(self, tok, h):
    x = torch.embedding(self.emb, tok)
    hs: List[Tensor] = []
    for l in range(self.num_layers):
        x = torch.gru_cell(x, h[l], self.w_ih[l], self.w_hh[l], self.b_ih[l], self.b_hh[l])
        hs.append(x)
    return torch.linear(x, self.out_w, self.out_b), torch.stack(hs)

def forward(self, x, h):
    outs: List[Tensor] = []
    for t in range(x.size(1)):
        logits, h = self.step(x.select(1, t), h)
        outs.append(logits)
    return torch.stack(outs, 1), h
)JIT";

}  // namespace

torch::jit::Module build(std::uint64_t seed) {
  torch::manual_seed(seed);
  const double k = 1.0 / std::sqrt(static_cast<double>(hidden));
  auto uniform = [&](std::vector<std::int64_t> shape) {
    return (torch::rand(shape) * 2 - 1) * k;
  };
  torch::jit::Module m("DemoTextgen");
  m.register_attribute("training", c10::BoolType::get(), false);
  m.register_attribute("modelgate_kind", c10::StringType::get(), std::string("textgen"));
  m.register_attribute("num_layers", c10::IntType::get(), layers);
  m.register_attribute("hidden_size", c10::IntType::get(), hidden);
  m.register_parameter("emb", torch::randn({256, hidden}) * 0.3, false);
  m.register_parameter("w_ih", uniform({layers, 3 * hidden, hidden}), false);
  m.register_parameter("w_hh", uniform({layers, 3 * hidden, hidden}), false);
  m.register_parameter("b_ih", uniform({layers, 3 * hidden}), false);
  m.register_parameter("b_hh", uniform({layers, 3 * hidden}), false);
  m.register_parameter("out_w", uniform({256, hidden}), false);
  m.register_parameter("out_b", torch::zeros({256}), false);
  m.define(source);
  return m;
}

void train(torch::jit::Module& m, const std::string& text, std::uint64_t seed, int steps) {
  constexpr std::int64_t batch = 32, window = 48;
  if (text.size() < window + 2) throw std::runtime_error("training text is too short");
  std::vector<at::Tensor> params;
  for (const auto& p : m.parameters()) params.push_back(p);
  for (auto& p : params) p.requires_grad_(true);
  torch::optim::Adam opt(params, torch::optim::AdamOptions(1e-2));
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::size_t> start(0, text.size() - window - 2);
  std::vector<std::int64_t> buf(batch * (window + 1));
  for (int s = 0; s < steps; ++s) {
    for (std::int64_t b = 0; b < batch; ++b) {
      const std::size_t at = start(rng);
      for (std::int64_t t = 0; t <= window; ++t)
        buf[b * (window + 1) + t] = static_cast<unsigned char>(text[at + t]);
    }
    auto seq = torch::from_blob(buf.data(), {batch, window + 1}, at::kLong);
    auto x = seq.slice(1, 0, window), y = seq.slice(1, 1, window + 1);
    auto out = m.forward({x, torch::zeros({layers, batch, hidden})}).toTuple();
    auto logits = out->elements()[0].toTensor().reshape({-1, 256});
    auto loss = torch::nll_loss(torch::log_softmax(logits, 1), y.reshape({-1}));
    opt.zero_grad();
    loss.backward();
    // Recurrent nets: clip so one bad window does not undo the rest.
    double norm = 0;
    for (auto& p : params) norm += p.grad().pow(2).sum().item<double>();
    norm = std::sqrt(norm);
    if (norm > 1.0)
      for (auto& p : params) p.grad().mul_(1.0 / norm);
    opt.step();
    if ((s + 1) % 50 == 0 || s + 1 == steps)
      spdlog::info("textgen step {}/{}: loss {:.3f}", s + 1, steps, loss.item<double>());
  }
  for (auto& p : params) p.requires_grad_(false);
}

const std::string& builtin_corpus() {
  static const std::string text =
      "The proxy sits in front of the model servers and sends each request to the backend "
      "with the shortest queue. When a backend is slow, the proxy sends the next request to "
      "another one. The backend puts requests in a queue and runs them together in a batch, "
      "because one batch of eight images costs little more than one image. The model reads "
      "the text one byte at a time and writes the next byte, and then the next, until the "
      "answer is long enough. Once upon a time there was a small model that lived on a small "
      "machine with two cores. It could not think very fast, so it learned to share its time "
      "with everyone who asked, and every answer came back a little at a time, as soon as it "
      "was ready. The server counts the requests, the tokens and the time they spend in the "
      "queue, and it tells the proxy how many requests are waiting. When the server is asked "
      "to stop, it stops taking new work, finishes what is in the queue, and then it exits. "
      "The people who run the service read the metrics and see that the queue is short and "
      "that the answers are fast. They add a backend when the queue grows, and they remove one "
      "when it is quiet again. This is how the service stays fast when many people use it at "
      "the same time, and this is why the model and the proxy work well together.\n";
  return text;
}

}  // namespace modelgate::backend::textgen_net
