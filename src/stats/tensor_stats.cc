#include "stats/tensor_stats.h"

#include <algorithm>
#include <cmath>

namespace gammaq::stats {

void SideMoments::add(float m) noexcept {
  ++count;
  sum += m;
  sum_sq += m * m;
  // logf is exact to an ulp of float (the values are floats) and several times faster.
  const double l = std::log(m);
  sum_log += l;
  sum_log2 += l * l;
  sum_log3 += l * l * l;
  max = std::max(max, static_cast<double>(m));
}

void SideMoments::merge(const SideMoments& o) noexcept {
  count += o.count;
  sum += o.sum;
  sum_sq += o.sum_sq;
  sum_log += o.sum_log;
  sum_log2 += o.sum_log2;
  sum_log3 += o.sum_log3;
  max = std::max(max, o.max);
}

double SideMoments::mean() const noexcept { return count ? sum / static_cast<double>(count) : 0.0; }

double SideMoments::variance() const noexcept {
  if (count < 2) return 0.0;
  const double m = mean();
  return std::max(0.0, sum_sq / static_cast<double>(count) - m * m);
}

double SideMoments::mean_log() const noexcept {
  return count ? sum_log / static_cast<double>(count) : 0.0;
}

double SideMoments::variance_log() const noexcept {
  if (count < 2) return 0.0;
  const double m = mean_log();
  return std::max(0.0, sum_log2 / static_cast<double>(count) - m * m);
}

double SideMoments::skewness_log() const noexcept {
  const double v = variance_log();
  if (count < 3 || v <= 0.0) return 0.0;
  const double n = static_cast<double>(count), m = mean_log();
  const double m3 = sum_log3 / n - 3.0 * m * sum_log2 / n + 2.0 * m * m * m;
  return m3 / std::pow(v, 1.5);
}

uint64_t position_key(int64_t image, int64_t element) noexcept {
  uint64_t z = static_cast<uint64_t>(image) * 0x9e3779b97f4a7c15ull ^
               (static_cast<uint64_t>(element) + 0x632be59bd9b4e019ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

namespace {
bool key_less(const SampleEntry& a, const SampleEntry& b) { return a.key < b.key; }
}  // namespace

void TensorStats::compact() {
  if (pool_.size() <= sample_size_) return;
  std::nth_element(pool_.begin(), pool_.begin() + static_cast<std::ptrdiff_t>(sample_size_ - 1),
                   pool_.end(), key_less);
  threshold_ = pool_[sample_size_ - 1].key;
  pool_.resize(sample_size_);
}

void TensorStats::add(std::span<const float> values, int64_t first_image, int64_t images) {
  if (images <= 0) return;
  const int64_t per_image = static_cast<int64_t>(values.size()) / images;
  for (int64_t i = 0; i < images; ++i) {
    const float* v = values.data() + i * per_image;
    for (int64_t j = 0; j < per_image; ++j) {
      const float x = v[j];
      if (!std::isfinite(x)) {
        ++nonfinite_;
        if (first_nonfinite_image_ < 0) first_nonfinite_image_ = first_image + i;
        continue;
      }
      ++total_;
      if (x == 0.0f) {
        ++zeros_;
        continue;
      }
      if (x > 0.0f)
        pos_.add(x);
      else
        neg_.add(-x);
      offer(position_key(first_image + i, j), x);
    }
  }
}

void TensorStats::merge(const TensorStats& o) {
  total_ += o.total_;
  zeros_ += o.zeros_;
  nonfinite_ += o.nonfinite_;
  if (o.first_nonfinite_image_ >= 0 &&
      (first_nonfinite_image_ < 0 || o.first_nonfinite_image_ < first_nonfinite_image_))
    first_nonfinite_image_ = o.first_nonfinite_image_;
  pos_.merge(o.pos_);
  neg_.merge(o.neg_);
  for (const SampleEntry& e : o.pool_) offer(e.key, e.value);
}

double TensorStats::max_abs() const noexcept { return std::max(pos_.max, neg_.max); }

std::vector<SampleEntry> TensorStats::sample_entries() const {
  std::vector<SampleEntry> sorted = pool_;
  std::sort(sorted.begin(), sorted.end(), key_less);
  if (sorted.size() > sample_size_) sorted.resize(sample_size_);
  return sorted;
}

std::vector<float> TensorStats::sample() const {
  const std::vector<SampleEntry> sorted = sample_entries();
  std::vector<float> out;
  out.reserve(sorted.size());
  for (const SampleEntry& e : sorted) out.push_back(e.value);
  return out;
}

}  // namespace gammaq::stats
