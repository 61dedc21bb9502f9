// Internal interfaces of the data module (src/data/); the public contract is gammaq/dataset.h.
//
//   spec.cc             SPEC string -> DataSpec (scheme, paths, slice); python slice clamping
//   byte_source.cc      files read at offsets: raw files with pread, gzip files with zlib gz*
//   idx.cc              IDX images (streamed) and labels (loaded whole)
//   npy.cc              NPY float32 images (streamed) and int32/int64 labels (loaded whole)
//   folder.cc           folder:DIR listing (at open) and PNG/JPEG decoding (at read)
//   preprocess.cc       channel conversion, bilinear resize, normalization
//   preprocess_json.cc  parse_preprocess_json
//   dataset.cc          open_dataset: raw-image datasets, slicing
//
// Every function here throws gammaq::Error on bad input (messages name the file) and
// GAMMAQ_CHECK's InternalError on misuse by the caller.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gammaq/dataset.h"

namespace gammaq::data {

// ---- limits on what a file may claim (checked before any allocation) ----
inline constexpr int64_t kMaxImagePixels = int64_t{1} << 26;  // H*W*C of one image
inline constexpr int64_t kMaxImageSide = 16384;               // preprocess height/width
inline constexpr int64_t kMaxNpyHeaderBytes = int64_t{1} << 20;
inline constexpr int64_t kMaxImageFileBytes = int64_t{1} << 28;  // one PNG/JPEG file

// ---- spec.cc ----
struct SliceBounds {
  std::optional<int64_t> start;  // python semantics: negative counts from the end
  std::optional<int64_t> stop;
};

struct DataSpec {
  std::string text;    // the whole spec, for messages
  std::string scheme;  // "fashion-mnist", "idx", "npy", "folder"
  std::string images;  // path (or "train"/"test" for fashion-mnist)
  std::string labels;  // empty when absent
  std::optional<SliceBounds> slice;
};

// Splits SPEC; throws Error(InvalidOption) naming the spec on an unknown scheme, an empty
// path or a malformed "[a:b]" suffix. Does not touch the file system.
[[nodiscard]] DataSpec parse_data_spec(std::string_view spec);

// [begin, end) that python's seq[start:stop] selects from a sequence of n elements.
struct Range {
  int64_t begin = 0;
  int64_t end = 0;
};
[[nodiscard]] Range resolve_slice(const SliceBounds& slice, int64_t n) noexcept;

// ---- byte_source.cc ----
// A file read at byte offsets. Raw files: pread, any order. Gzip files (magic 1f 8b): the
// decompressed stream with a forward cursor; reading before the cursor restarts the stream.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  [[nodiscard]] virtual const std::string& path() const noexcept = 0;
  [[nodiscard]] virtual bool compressed() const noexcept = 0;
  // File size in bytes; only for uncompressed files (nullopt for gzip).
  [[nodiscard]] virtual std::optional<int64_t> size() const noexcept = 0;
  // Reads up to out.size() bytes at `offset` (of the decompressed data); returns the number
  // read, less than out.size() only at the end of the data. Throws Error(Io) on a read error,
  // Error(InvalidData) on a corrupt gzip stream.
  virtual size_t read_at(int64_t offset, std::span<uint8_t> out) = 0;
};

// Opens PATH (Error(Io) "PATH: cannot open: <strerror>", directories included).
[[nodiscard]] std::unique_ptr<ByteSource> open_byte_source(const std::string& path);

// Reads a whole small file (at most max_bytes, else Error(InvalidData)).
[[nodiscard]] std::vector<uint8_t> read_whole_file(const std::string& path, int64_t max_bytes);

// How many times a gzip stream was started (opened or rewound), process-wide. Tests use it
// to check that sequential batch reads never restart the decompression.
[[nodiscard]] int64_t gz_stream_starts() noexcept;

// ---- raw images (idx, folder) ----
// One decoded image, interleaved H x W x C bytes, C = 1 (gray) or 3 (RGB).
struct RawImage {
  int64_t height = 0;
  int64_t width = 0;
  int64_t channels = 0;
  std::vector<uint8_t> pixels;
};

class ImageSource {
 public:
  virtual ~ImageSource() = default;
  [[nodiscard]] virtual int64_t size() const noexcept = 0;
  // Height and width of the first image: every image must have it unless resized.
  [[nodiscard]] virtual int64_t height() const noexcept = 0;
  [[nodiscard]] virtual int64_t width() const noexcept = 0;
  // Where image i comes from, for messages ("a.idx" or "dir/cls/x.png").
  [[nodiscard]] virtual std::string where(int64_t i) const = 0;
  // Decodes images [begin, begin + count) into `out` (resized to count).
  virtual void read(int64_t begin, int64_t count, std::vector<RawImage>& out) = 0;
};

// ---- idx.cc ----
// IDX images: unsigned byte, 3 dimensions (N, H, W).
[[nodiscard]] std::unique_ptr<ImageSource> open_idx_images(const std::string& path);
// IDX labels: 1 dimension, integer dtype (0x08, 0x09, 0x0B, 0x0C), values in [0, 2^31).
[[nodiscard]] std::vector<int64_t> load_idx_labels(const std::string& path);

// ---- folder.cc ----
struct FolderListing {
  std::vector<std::string> classes;  // sorted sub-folder names (empty: a flat folder)
  std::vector<std::string> files;    // sorted by (class, file name)
  std::vector<int64_t> labels;       // class index of each file (empty: a flat folder)
  std::vector<std::string> notes;    // what listing or skip_bad left out
};
// Lists DIR/<class>/<file>.{png,jpg,jpeg} (case-insensitive extension; names starting with
// '.' are skipped); a DIR with no class sub-folder holding images but with images of its own
// is a flat folder of unlabelled images (calibration, label-free scoring). With skip_bad,
// every file is decoded once and those that fail are left out, counted in `notes`. Throws
// Error(Io) when DIR cannot be read, Error(InvalidData) when no image is found.
[[nodiscard]] FolderListing list_image_folder(const std::string& dir, bool skip_bad = false);
[[nodiscard]] std::unique_ptr<ImageSource> open_folder_images(FolderListing listing);
// Decodes one PNG/JPEG file to gray (1 channel: gray or gray+alpha files) or RGB (3); alpha
// is dropped. Error(InvalidData) "FILE: cannot decode image (stb_image: <reason>)".
[[nodiscard]] RawImage decode_image_file(const std::string& path);

// ---- npy.cc ----
struct NpyHeader {
  std::string descr;  // e.g. "<f4"
  bool fortran_order = false;
  std::vector<int64_t> shape;
  int64_t data_offset = 0;  // bytes before the array data
};
// Parses the header of an NPY file (versions 1.0, 2.0, 3.0) already read into `bytes` (at
// least the first min(file size, 1 MiB + 12) bytes). Throws Error(InvalidData) naming `path`.
[[nodiscard]] NpyHeader parse_npy_header(std::span<const uint8_t> bytes, const std::string& path);
[[nodiscard]] std::unique_ptr<Dataset> open_npy_dataset(const std::string& images,
                                                        const std::string& labels);

// ---- preprocess.cc ----
// Checks a Preprocess given as options: Error(InvalidOption) "preprocess: ...".
void validate_preprocess(const Preprocess& pre);
[[nodiscard]] int64_t channel_count(Channels channels) noexcept;

// Bilinear resize of C planes (C x ih x iw -> C x oh x ow), half-pixel centers, borders
// clamped, no antialiasing: the rule of OpenCV's INTER_LINEAR (see preprocess.cc).
void resize_bilinear(std::span<const float> in, int64_t channels, int64_t ih, int64_t iw,
                     std::span<float> out, int64_t oh, int64_t ow);

// Turns RawImages into the C x H x W floats of a Preprocess.
class Preprocessor {
 public:
  // native_h/native_w: the size images keep when pre.height/width are 0.
  Preprocessor(const Preprocess& pre, int64_t native_h, int64_t native_w);
  [[nodiscard]] Shape output_shape() const { return {channels_, height_, width_}; }
  // Writes channels*height*width floats. `where` names the image for messages (size mismatch).
  void apply(const RawImage& image, std::string_view where, std::span<float> out) const;

 private:
  Preprocess pre_;
  int64_t channels_;
  int64_t height_;
  int64_t width_;
};

}  // namespace gammaq::data
