// Streaming, mergeable statistics of one tensor over a calibration set (ALGORITHMS.md 4.1,
// 4.8, 4.9, 6.1). Memory is bounded: a fixed number of sums plus a bottom-k sample whose size
// does not depend on the number of images.
//
// Determinism: sums are accumulated in double in the order values are added. The sample keeps
// the k values with the smallest hash of their global position (image index, element index),
// so it is the same whatever the batch size, and merging the statistics of two shards gives
// exactly the sample of the concatenated data.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace gammaq::stats {

// Moments of the magnitudes of one sign's values, exact zeros excluded.
struct SideMoments {
  int64_t count = 0;
  double sum = 0.0, sum_sq = 0.0;                        // sum |x|, sum x^2
  double sum_log = 0.0, sum_log2 = 0.0, sum_log3 = 0.0;  // sums of ln|x|, ln^2, ln^3 (4.9a)
  double max = 0.0;                                      // largest |x|

  void add(float magnitude) noexcept;  // magnitude > 0, finite
  void merge(const SideMoments& other) noexcept;
  [[nodiscard]] double mean() const noexcept;
  // Population variance; 0 for fewer than two values.
  [[nodiscard]] double variance() const noexcept;
  [[nodiscard]] double mean_log() const noexcept;
  [[nodiscard]] double variance_log() const noexcept;
  [[nodiscard]] double skewness_log() const noexcept;
};

// One sampled value and the hash that selected it.
struct SampleEntry {
  uint64_t key;
  float value;
  friend bool operator==(const SampleEntry&, const SampleEntry&) = default;
};

class TensorStats {
 public:
  // `sample_size`: values kept in the bottom-k sample (0 keeps none).
  explicit TensorStats(size_t sample_size = 65536)
      : sample_size_(sample_size), threshold_(sample_size == 0 ? 0 : ~uint64_t{0}) {}

  // Adds the values of `images` consecutive images, the first of which has global index
  // `first_image`; `values` holds images * per_image values, image-major.
  void add(std::span<const float> values, int64_t first_image, int64_t images);
  // Adds another shard's statistics (its images must be disjoint from ours).
  void merge(const TensorStats& other);

  [[nodiscard]] int64_t total() const noexcept { return total_; }
  [[nodiscard]] int64_t zeros() const noexcept { return zeros_; }
  [[nodiscard]] int64_t nonfinite() const noexcept { return nonfinite_; }
  // Global index of the first image holding a NaN or Inf; -1 if none.
  [[nodiscard]] int64_t first_nonfinite_image() const noexcept { return first_nonfinite_image_; }
  [[nodiscard]] const SideMoments& positive() const noexcept { return pos_; }
  [[nodiscard]] const SideMoments& negative() const noexcept { return neg_; }  // of |x|, x < 0
  [[nodiscard]] double max_abs() const noexcept;
  [[nodiscard]] bool one_sided() const noexcept { return neg_.count == 0; }
  // sum of x^2 over every finite value (zeros add nothing): the SQNR signal energy.
  [[nodiscard]] double energy() const noexcept { return pos_.sum_sq + neg_.sum_sq; }
  // The bottom-k sample of non-zero finite values, ordered by key.
  [[nodiscard]] std::vector<float> sample() const;
  // The bottom-k entries, ordered by key.
  [[nodiscard]] std::vector<SampleEntry> sample_entries() const;

 private:
  void offer(uint64_t key, float value) {
    if (key < threshold_) {
      pool_.push_back({key, value});
      if (pool_.size() >= 2 * sample_size_) compact();
    }
  }
  void compact();  // keeps the sample_size_ smallest keys; lowers threshold_

  size_t sample_size_;
  int64_t total_ = 0, zeros_ = 0, nonfinite_ = 0, first_nonfinite_image_ = -1;
  SideMoments pos_, neg_;
  // Candidates for the bottom-k sample: every entry with key < threshold_, at most 2k of them
  // (compacted to the k smallest when full), so offering a value is O(1) amortised.
  std::vector<SampleEntry> pool_;
  uint64_t threshold_;
};

// 64-bit mix of a value position (splitmix64 finaliser); the sample's selection key.
[[nodiscard]] uint64_t position_key(int64_t image, int64_t element) noexcept;

}  // namespace gammaq::stats
