#pragma once
// A labelled image set drawn from a seed: ten classes of stripes, shapes and gradients in random
// colours, positions and sizes, with noise. Training and held-out sets for the demo classifier.

#include <cstdint>
#include <vector>

namespace modelgate::backend {

inline constexpr int image_side = 64;
inline constexpr int image_channels = 3;
inline constexpr int image_floats = image_channels * image_side * image_side;
inline constexpr int image_classes = 10;

/// `count` images, CHW FP32 in [0, 1] back to back, and their labels.
struct image_set {
  std::vector<float> pixels;
  std::vector<std::int64_t> labels;
};

/// Deterministic for (seed, count) on one platform.
image_set make_images(std::uint64_t seed, int count);

/// The held-out set every accuracy figure uses (its seed is never used for training).
image_set heldout_images(int count);

}  // namespace modelgate::backend
