// open_dataset: SPEC -> Dataset. Raw-image schemes (fashion-mnist, idx, folder) become a
// RawImageDataset (an ImageSource, its labels and a Preprocessor); npy has its own reader.
// A "[a:b]" slice wraps either in a SlicedDataset, an offset view.
#include "data/readers.h"
#include "gammaq/error.h"

namespace gammaq {
namespace data {
namespace {

constexpr std::string_view kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

class RawImageDataset final : public Dataset {
 public:
  RawImageDataset(std::unique_ptr<ImageSource> src, std::vector<int64_t> labels, bool has_labels,
                  const Preprocess& pre)
      : src_(std::move(src)),
        labels_(std::move(labels)),
        has_labels_(has_labels),
        pre_(pre, src_->height(), src_->width()) {}

  int64_t size() const override { return src_->size(); }
  bool has_labels() const override { return has_labels_; }
  Shape image_shape() const override { return pre_.output_shape(); }
  std::vector<std::string> notes() const override { return notes_; }
  void set_notes(std::vector<std::string> notes) { notes_ = std::move(notes); }

  Batch read(int64_t begin, int64_t count) override {
    GAMMAQ_CHECK(begin >= 0 && count >= 0 && begin <= size() - count, begin, count, size());
    src_->read(begin, count, raw_);
    const Shape s = pre_.output_shape();
    const int64_t per_image = shape_numel(s);
    Batch b;
    b.images = Tensor({count, s[0], s[1], s[2]});
    for (int64_t i = 0; i < count; ++i) {
      pre_.apply(raw_[static_cast<size_t>(i)], src_->where(begin + i),
                 std::span<float>(b.images.data)
                     .subspan(static_cast<size_t>(i * per_image), static_cast<size_t>(per_image)));
    }
    if (has_labels_) b.labels.assign(labels_.begin() + begin, labels_.begin() + begin + count);
    return b;
  }

 private:
  std::unique_ptr<ImageSource> src_;
  std::vector<int64_t> labels_;
  bool has_labels_;
  Preprocessor pre_;
  std::vector<RawImage> raw_;  // reused between batches
  std::vector<std::string> notes_;
};

class SlicedDataset final : public Dataset {
 public:
  SlicedDataset(std::unique_ptr<Dataset> inner, Range range)
      : inner_(std::move(inner)), range_(range) {}

  int64_t size() const override { return range_.end - range_.begin; }
  bool has_labels() const override { return inner_->has_labels(); }
  Shape image_shape() const override { return inner_->image_shape(); }
  std::vector<std::string> notes() const override { return inner_->notes(); }
  Batch read(int64_t begin, int64_t count) override {
    GAMMAQ_CHECK(begin >= 0 && count >= 0 && begin <= size() - count, begin, count, size());
    return inner_->read(range_.begin + begin, count);
  }

 private:
  std::unique_ptr<Dataset> inner_;
  Range range_;
};

std::unique_ptr<Dataset> open_idx(const std::string& images, const std::string& labels,
                                  const Preprocess& pre) {
  auto src = open_idx_images(images);
  std::vector<int64_t> label_values;
  if (!labels.empty()) {
    label_values = load_idx_labels(labels);
    if (static_cast<int64_t>(label_values.size()) != src->size()) {
      throw Error(ErrorKind::InvalidData,
                  str_cat(images, " and ", labels, ": ", src->size(), " images but ",
                          label_values.size(), " labels: counts must match"));
    }
  }
  return std::make_unique<RawImageDataset>(std::move(src), std::move(label_values), !labels.empty(),
                                           pre);
}

std::unique_ptr<Dataset> open_unsliced(const DataSpec& spec, const Preprocess& pre) {
  if (spec.scheme == "fashion-mnist") {
    const std::string prefix =
        str_cat(kFashionMnistDir, "/", spec.images == "train" ? "train" : "t10k");
    return open_idx(prefix + "-images-idx3-ubyte.gz", prefix + "-labels-idx1-ubyte.gz", pre);
  }
  if (spec.scheme == "idx") return open_idx(spec.images, spec.labels, pre);
  if (spec.scheme == "npy") return open_npy_dataset(spec.images, spec.labels);
  GAMMAQ_CHECK(spec.scheme == "folder", spec.scheme);
  FolderListing listing = list_image_folder(spec.images, pre.skip_bad);
  std::vector<int64_t> labels = listing.labels;
  std::vector<std::string> notes = listing.notes;
  const bool labelled = !listing.classes.empty();
  auto ds = std::make_unique<RawImageDataset>(open_folder_images(std::move(listing)),
                                              std::move(labels), labelled, pre);
  ds->set_notes(std::move(notes));
  return ds;
}

}  // namespace
}  // namespace data

std::unique_ptr<Dataset> open_dataset(std::string_view spec, const Preprocess& pre) {
  const data::DataSpec parsed = data::parse_data_spec(spec);
  if (parsed.scheme != "npy") data::validate_preprocess(pre);
  std::unique_ptr<Dataset> ds = data::open_unsliced(parsed, pre);
  if (!parsed.slice) return ds;
  const data::Range range = data::resolve_slice(*parsed.slice, ds->size());
  return std::make_unique<data::SlicedDataset>(std::move(ds), range);
}

}  // namespace gammaq
