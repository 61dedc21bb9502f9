// make_array_dataset: images and labels the caller already holds, served as a Dataset.
#include <algorithm>

#include "gammaq/dataset.h"
#include "gammaq/error.h"

namespace gammaq {
namespace {

class ArrayDataset final : public Dataset {
 public:
  ArrayDataset(Tensor images, std::vector<int64_t> labels)
      : images_(std::move(images)), labels_(std::move(labels)) {}

  int64_t size() const override { return images_.shape[0]; }
  bool has_labels() const override { return !labels_.empty(); }
  Shape image_shape() const override {
    return Shape(images_.shape.begin() + 1, images_.shape.end());
  }
  Batch read(int64_t begin, int64_t count) override {
    GAMMAQ_CHECK(begin >= 0 && count >= 0 && begin <= size() - count, begin, count, size());
    const int64_t per_image = shape_numel(image_shape());
    Batch b;
    b.images = Tensor({count, images_.shape[1], images_.shape[2], images_.shape[3]});
    std::copy_n(images_.data.begin() + begin * per_image, count * per_image, b.images.data.begin());
    if (!labels_.empty()) b.labels.assign(labels_.begin() + begin, labels_.begin() + begin + count);
    return b;
  }

 private:
  Tensor images_;
  std::vector<int64_t> labels_;
};

}  // namespace

std::unique_ptr<Dataset> make_array_dataset(Tensor images, std::vector<int64_t> labels) {
  const Shape& s = images.shape;
  if (s.size() != 4 || std::any_of(s.begin(), s.end(), [](int64_t d) { return d < 0; }))
    throw Error(ErrorKind::InvalidData,
                str_cat("in-memory images: shape ", shape_str(s), ": expected N x C x H x W"));
  if (images.numel() != shape_numel(s))
    throw Error(ErrorKind::InvalidData,
                str_cat("in-memory images: ", images.numel(), " values for shape ", shape_str(s),
                        ": expected ", shape_numel(s)));
  if (!labels.empty() && static_cast<int64_t>(labels.size()) != s[0])
    throw Error(ErrorKind::InvalidData, str_cat("in-memory labels: ", labels.size(), " for ", s[0],
                                                " images: counts must match"));
  if (auto it = std::find_if(labels.begin(), labels.end(), [](int64_t l) { return l < 0; });
      it != labels.end())
    throw Error(ErrorKind::InvalidData, str_cat("in-memory labels: label ", *it, " of image ",
                                                it - labels.begin(), ": must be >= 0"));
  return std::make_unique<ArrayDataset>(std::move(images), std::move(labels));
}

}  // namespace gammaq
