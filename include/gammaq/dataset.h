// Datasets: SPEC strings (DESIGN.md "Data SPEC strings") opened as streaming image sources.
//
//   fashion-mnist:train | fashion-mnist:test   Debian's dataset-fashion-mnist
//   idx:IMAGES[,LABELS]                        IDX files, optionally gzip-compressed
//   npy:IMAGES.npy[,LABELS.npy]                float32 NCHW, already preprocessed;
//                                              labels int64 or int32
//   folder:DIR                                 one sub-folder per class, PNG/JPEG (stb)
//   any of them + "[a:b]"                      a slice (python-style, a or b may be empty)
//
// In-memory arrays become a Dataset with make_array_dataset.
// Raw images (idx, folder, fashion-mnist) are preprocessed with Preprocess; npy is not.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gammaq/tensor.h"

namespace gammaq {

// Channel layout raw images are converted to: 1 channel (Gray) or 3 in R,G,B or B,G,R order.
enum class Channels { Gray, Rgb, Bgr };

// x = (pixel * scale - mean[c]) / std[c], pixel in [0,255]; images resized to size (h, w).
struct Preprocess {
  double scale = 1.0 / 255.0;
  std::vector<float> mean{0.0f};  // one value, or one per channel
  std::vector<float> std{1.0f};   // one value, or one per channel; all > 0
  Channels channels = Channels::Gray;
  int64_t height = 0;  // 0: keep the image's own size
  int64_t width = 0;
  // ImageNet-style evaluation transforms, before `height` x `width`: the shorter side resized
  // to `resize` (aspect kept: the longer side floor(long * resize / short), as torchvision's
  // Resize(int)), then the centre `crop_h` x `crop_w` cut out (top/left rounded as
  // torchvision's CenterCrop). 0: not done. With a crop, the crop is the image size unless
  // height/width are set too.
  int64_t resize = 0;
  int64_t crop_h = 0, crop_w = 0;
  // Raw image files (folder:) that do not decode are left out and counted (Dataset::notes)
  // instead of failing the read that meets them; every file is decoded once at open.
  bool skip_bad = false;
};

// Parses the JSON value of the ONNX metadata_props key "gammaq.preprocess":
// {"scale": f, "mean": [f...], "std": [f...], "channels": "gray"|"rgb"|"bgr", "size": [h, w]}
// Throws Error(InvalidModel) naming the offending field.
[[nodiscard]] Preprocess parse_preprocess_json(std::string_view json);

// Images [begin, begin + count) of a dataset, as Dataset::read returns them.
struct Batch {
  Tensor images;                // N x C x H x W, preprocessed
  std::vector<int64_t> labels;  // N entries, or empty when the dataset has no labels
};

// A source of images (and, optionally, their class labels), read in batches.
class Dataset {
 public:
  virtual ~Dataset() = default;
  // Number of images (after slicing).
  [[nodiscard]] virtual int64_t size() const = 0;
  [[nodiscard]] virtual bool has_labels() const = 0;
  // What opening the data left out or assumed, one line each (e.g. images skipped by
  // skip_bad); empty when nothing.
  [[nodiscard]] virtual std::vector<std::string> notes() const { return {}; }
  // C, H, W of every image after preprocessing.
  [[nodiscard]] virtual Shape image_shape() const = 0;
  // Images [begin, begin + count) of the (sliced) dataset. Throws Error(InvalidData|Io)
  // naming the file on corrupt or truncated data. Not thread-safe: one reader per thread.
  [[nodiscard]] virtual Batch read(int64_t begin, int64_t count) = 0;
};

// Opens SPEC. Validates headers, sizes and label counts up front (Error(InvalidData) or
// Error(InvalidOption) for a malformed spec), reads pixels lazily: memory does not grow with
// the dataset's size beyond its labels and an index of files.
[[nodiscard]] std::unique_ptr<Dataset> open_dataset(std::string_view spec, const Preprocess& pre);

// A dataset over images already in memory: `images` [N, C, H, W], float32, preprocessed as the
// model expects (like npy), and `labels` (N class indices >= 0, or empty: unlabelled). Takes
// ownership (move the tensor in to avoid a copy). Throws Error(InvalidData) for images of
// another rank, data whose size is not the shape's product, or a label count other than N or a
// negative label.
[[nodiscard]] std::unique_ptr<Dataset> make_array_dataset(Tensor images,
                                                          std::vector<int64_t> labels = {});

}  // namespace gammaq
