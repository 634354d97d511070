#include "backend/model/procedural_images.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <random>

namespace modelgate::backend {
namespace {

using colour = std::array<float, 3>;

struct draw_params {
  int label;
  float cx, cy, size, period, phase, angle;
};

// True where the class's pattern has its foreground colour (a blend weight for the gradient).
float coverage(const draw_params& p, float x, float y) {
  const float dx = x - p.cx, dy = y - p.cy;
  const auto stripes = [&](float u) {
    return std::fmod(u + p.phase + 1000.0f * p.period, p.period) < p.period / 2 ? 1.0f : 0.0f;
  };
  switch (p.label) {
    case 0: return stripes(y);                       // horizontal stripes
    case 1: return stripes(x);                       // vertical stripes
    case 2: return stripes((x + y) / std::numbers::sqrt2_v<float>);  // diagonal
    case 3: return stripes((x - y) / std::numbers::sqrt2_v<float>);  // anti-diagonal
    case 4: return dx * dx + dy * dy < p.size * p.size ? 1.0f : 0.0f;  // disc
    case 5: return std::abs(dx) < p.size && std::abs(dy) < p.size ? 1.0f : 0.0f;  // square
    case 6: {                                                                // ring
      const float r = std::sqrt(dx * dx + dy * dy);
      return r < p.size && r > p.size * 0.6f ? 1.0f : 0.0f;
    }
    case 7:  // plus-shaped cross
      return (std::abs(dx) < p.size * 0.3f && std::abs(dy) < p.size) ||
                     (std::abs(dy) < p.size * 0.3f && std::abs(dx) < p.size)
                 ? 1.0f
                 : 0.0f;
    case 8: {  // checkerboard
      const int a = static_cast<int>(std::floor((x + p.phase) / (p.period / 2)));
      const int b = static_cast<int>(std::floor((y + p.phase) / (p.period / 2)));
      return ((a + b) & 1) ? 1.0f : 0.0f;
    }
    default: {  // smooth gradient along a random direction
      const float u = (dx * std::cos(p.angle) + dy * std::sin(p.angle)) / image_side + 0.5f;
      return std::clamp(u, 0.0f, 1.0f);
    }
  }
}

}  // namespace

image_set make_images(std::uint64_t seed, int count) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::normal_distribution<float> noise(0.0f, 0.08f);
  image_set out;
  out.pixels.resize(static_cast<std::size_t>(count) * image_floats);
  out.labels.resize(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    draw_params p{};
    p.label = static_cast<int>(rng() % image_classes);
    p.cx = 20 + 24 * unit(rng);
    p.cy = 20 + 24 * unit(rng);
    p.size = 9 + 10 * unit(rng);
    p.period = 6 + 10 * unit(rng);
    p.phase = p.period * unit(rng);
    p.angle = 2 * std::numbers::pi_v<float> * unit(rng);
    // Foreground and background differ enough to be seen through the noise.
    colour fg{}, bg{};
    do {
      for (int c = 0; c < 3; ++c) fg[c] = unit(rng), bg[c] = unit(rng);
    } while (std::abs(fg[0] - bg[0]) + std::abs(fg[1] - bg[1]) + std::abs(fg[2] - bg[2]) < 0.6f);
    float* img = out.pixels.data() + static_cast<std::size_t>(i) * image_floats;
    for (int y = 0; y < image_side; ++y) {
      for (int x = 0; x < image_side; ++x) {
        const float w = coverage(p, static_cast<float>(x), static_cast<float>(y));
        for (int c = 0; c < 3; ++c) {
          const float v = w * fg[c] + (1 - w) * bg[c] + noise(rng);
          img[(c * image_side + y) * image_side + x] = std::clamp(v, 0.0f, 1.0f);
        }
      }
    }
    out.labels[static_cast<std::size_t>(i)] = p.label;
  }
  return out;
}

image_set heldout_images(int count) { return make_images(0x5eed0f4e1d07ULL, count); }

}  // namespace modelgate::backend
