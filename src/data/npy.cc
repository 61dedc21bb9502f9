// NPY files (numpy.lib.format, versions 1.0, 2.0 and 3.0):
//
//   "\x93NUMPY" major minor  header_len (uint16 LE in 1.0, uint32 LE in 2.0/3.0)
//   header: a python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (N, C, H, W), }
//   then the array data in C order.
//
// Images: '<f4' (little-endian float32), shape (N, C, H, W) or (N, H, W) (then C = 1), used
// as they are (no preprocessing), read lazily with pread. Labels: '<i8' or '<i4', shape (N,),
// values in [0, 2^31), loaded whole. Uncompressed files must be exactly as long as the header
// says; a gzip-compressed .npy also works (streamed, truncation detected when read).
#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <cstring>

#include "data/readers.h"
#include "gammaq/error.h"

namespace gammaq::data {
namespace {

constexpr std::array<uint8_t, 6> kMagic = {0x93, 'N', 'U', 'M', 'P', 'Y'};

[[noreturn]] void bad_npy(const std::string& path, std::string_view what) {
  throw Error(ErrorKind::InvalidData, str_cat(path, ": ", what));
}

// Recursive-descent reader of the header's dict literal.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& path) : text_(text), path_(path) {}

  NpyHeader parse() {
    NpyHeader h;
    bool seen_descr = false;
    bool seen_order = false;
    bool seen_shape = false;
    expect('{');
    while (!peek('}')) {
      const std::string key = string_literal();
      expect(':');
      if (key == "descr") {
        if (peek('[')) fail("structured dtypes (descr is a list) are not supported");
        h.descr = string_literal();
        seen_descr = true;
      } else if (key == "fortran_order") {
        h.fortran_order = boolean();
        seen_order = true;
      } else if (key == "shape") {
        h.shape = tuple();
        seen_shape = true;
      } else {
        fail(str_cat("unexpected key '", key, "': expected descr, fortran_order and shape"));
      }
      if (!peek('}')) expect(',');
    }
    expect('}');
    if (!seen_descr || !seen_order || !seen_shape) {
      fail("missing key: expected descr, fortran_order and shape");
    }
    return h;
  }

 private:
  [[noreturn]] void fail(std::string_view what) const {
    bad_npy(path_, str_cat("bad NPY header: ", what));
  }
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool peek(char c) {
    skip_space();
    return pos_ < text_.size() && text_[pos_] == c;
  }
  void expect(char c) {
    if (!peek(c)) {
      fail(str_cat("expected '", c, "' at byte ", pos_, " of the header dict"));
    }
    ++pos_;
  }
  std::string string_literal() {
    skip_space();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) {
      fail(str_cat("expected a quoted string at byte ", pos_, " of the header dict"));
    }
    const char quote = text_[pos_++];
    const size_t end = text_.find(quote, pos_);
    if (end == std::string_view::npos) fail("unterminated string");
    std::string s(text_.substr(pos_, end - pos_));
    pos_ = end + 1;
    for (char& c : s) {
      if (!std::isprint(static_cast<unsigned char>(c))) c = '?';  // keep messages one line
    }
    return s;
  }
  bool boolean() {
    skip_space();
    for (const auto& [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      const std::string_view w = word;
      if (text_.substr(pos_, w.size()) == w) {
        pos_ += w.size();
        return value;
      }
    }
    fail("fortran_order must be True or False");
  }
  std::vector<int64_t> tuple() {
    expect('(');
    std::vector<int64_t> dims;
    while (!peek(')')) {
      if (dims.size() >= 32) fail("shape has more than 32 dimensions");
      int64_t v = 0;
      size_t digits = 0;
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, text_[pos_] - '0', &v)) {
          fail("shape dimension overflows 64 bits");
        }
        ++pos_;
        ++digits;
      }
      if (digits == 0) fail(str_cat("expected a non-negative integer at byte ", pos_, " in shape"));
      dims.push_back(v);
      if (!peek(')')) expect(',');
    }
    expect(')');
    return dims;
  }

  std::string_view text_;
  const std::string& path_;
  size_t pos_ = 0;
};

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += str_cat(i == 0 ? "" : ", ", shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

uint32_t le32(const uint8_t* p) {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

struct Preamble {
  size_t len_bytes = 0;   // 2 (version 1) or 4
  size_t header_len = 0;  // bytes of the dict literal that follows
};

// Magic, version and header length from the first bytes (at least 10) of a file.
Preamble read_preamble(std::span<const uint8_t> bytes, const std::string& path) {
  if (bytes.size() < 10 || !std::equal(kMagic.begin(), kMagic.end(), bytes.begin())) {
    bad_npy(path, "not an NPY file: missing the \\x93NUMPY magic");
  }
  const uint8_t major = bytes[6];
  if (major < 1 || major > 3 || bytes[7] != 0) {
    bad_npy(path, str_cat("NPY format version ", int{major}, ".", int{bytes[7]},
                          " not supported: expected 1.0, 2.0 or 3.0"));
  }
  Preamble p;
  p.len_bytes = major == 1 ? 2 : 4;
  if (bytes.size() < 8 + p.len_bytes) bad_npy(path, "truncated NPY preamble");
  p.header_len = major == 1 ? size_t{bytes[8]} | (size_t{bytes[9]} << 8) : size_t{le32(&bytes[8])};
  if (p.header_len > static_cast<size_t>(kMaxNpyHeaderBytes)) {
    bad_npy(path, str_cat("NPY header of ", p.header_len, " bytes: limit ", kMaxNpyHeaderBytes));
  }
  return p;
}

NpyHeader read_npy_header(ByteSource& src) {
  std::vector<uint8_t> bytes(12);
  bytes.resize(src.read_at(0, bytes));
  const Preamble p = read_preamble(bytes, src.path());
  bytes.resize(8 + p.len_bytes + p.header_len);
  if (src.read_at(0, bytes) != bytes.size()) {
    bad_npy(src.path(), str_cat("truncated NPY header: expected ", p.header_len, " header bytes"));
  }
  return parse_npy_header(bytes, src.path());
}

// Checks the data size of an NPY file whose elements are `elem` bytes; returns it.
int64_t checked_data_bytes(const ByteSource& src, const NpyHeader& h, int64_t elem) {
  int64_t n = elem;
  for (int64_t d : h.shape) {
    if (__builtin_mul_overflow(n, d, &n)) {
      bad_npy(src.path(), str_cat("NPY shape ", shape_text(h.shape), " overflows 64-bit sizes"));
    }
  }
  if (const auto size = src.size(); size && *size != h.data_offset + n) {
    bad_npy(src.path(), str_cat(*size < h.data_offset + n ? "truncated NPY file" : "bad NPY file",
                                ": header says ", shape_text(h.shape), " '", h.descr, "' (",
                                h.data_offset + n, " bytes), file has ", *size, " bytes"));
  }
  return n;
}

void check_layout(const std::string& path, const NpyHeader& h) {
  if (h.fortran_order) {
    bad_npy(path, "fortran_order is True: expected C order; save np.ascontiguousarray(a)");
  }
}

class NpyDataset final : public Dataset {
 public:
  NpyDataset(std::unique_ptr<ByteSource> src, NpyHeader h, std::vector<int64_t> labels,
             bool has_labels)
      : src_(std::move(src)),
        header_(std::move(h)),
        labels_(std::move(labels)),
        has_labels_(has_labels) {
    const auto& s = header_.shape;
    shape_ = s.size() == 4 ? Shape{s[1], s[2], s[3]} : Shape{1, s[1], s[2]};
    per_image_ = shape_numel(shape_);
  }

  int64_t size() const override { return header_.shape[0]; }
  bool has_labels() const override { return has_labels_; }
  Shape image_shape() const override { return shape_; }

  Batch read(int64_t begin, int64_t count) override {
    GAMMAQ_CHECK(begin >= 0 && count >= 0 && begin <= size() - count, begin, count, size());
    Batch b;
    b.images.shape = {count, shape_[0], shape_[1], shape_[2]};
    std::vector<float>& data = b.images.data;
    const int64_t image_bytes = per_image_ * 4;
    if (!src_->compressed()) data.resize(static_cast<size_t>(count * per_image_));
    for (int64_t i = 0; i < count; ++i) {
      // Compressed files grow the buffer image by image: memory follows the data present.
      if (src_->compressed()) data.resize(static_cast<size_t>((i + 1) * per_image_));
      const int64_t offset = header_.data_offset + (begin + i) * image_bytes;
      const std::span<uint8_t> dst(reinterpret_cast<uint8_t*>(data.data() + i * per_image_),
                                   static_cast<size_t>(image_bytes));
      const size_t got = src_->read_at(offset, dst);
      if (static_cast<int64_t>(got) != image_bytes) {
        bad_npy(src_->path(), str_cat("truncated NPY data: image ", begin + i, " needs bytes [",
                                      offset, ", ", offset + image_bytes, "), data ends at ",
                                      offset + static_cast<int64_t>(got)));
      }
    }
    if constexpr (std::endian::native == std::endian::big) {
      for (float& f : data) {
        uint32_t u = 0;
        std::memcpy(&u, &f, 4);
        u = __builtin_bswap32(u);
        std::memcpy(&f, &u, 4);
      }
    }
    if (has_labels_) {
      b.labels.assign(labels_.begin() + begin, labels_.begin() + begin + count);
    }
    return b;
  }

 private:
  std::unique_ptr<ByteSource> src_;
  NpyHeader header_;
  std::vector<int64_t> labels_;
  bool has_labels_;
  Shape shape_;
  int64_t per_image_ = 0;
};

std::vector<int64_t> load_npy_labels(const std::string& path) {
  auto src = open_byte_source(path);
  const NpyHeader h = read_npy_header(*src);
  check_layout(path, h);
  int64_t elem = 0;
  if (h.descr == "<i8") {
    elem = 8;
  } else if (h.descr == "<i4") {
    elem = 4;
  } else {
    bad_npy(path, str_cat("NPY labels dtype '", h.descr,
                          "' not supported: expected '<i8' or '<i4' (little-endian int64/int32)"));
  }
  if (h.shape.size() != 1) {
    bad_npy(path, str_cat("NPY labels have shape ", shape_text(h.shape), ": expected (N,)"));
  }
  checked_data_bytes(*src, h, elem);
  std::vector<int64_t> labels;
  std::vector<uint8_t> chunk;
  constexpr int64_t kChunkLabels = 1 << 16;
  const int64_t n = h.shape[0];
  for (int64_t first = 0; first < n; first += kChunkLabels) {
    const int64_t k = std::min(kChunkLabels, n - first);
    chunk.resize(static_cast<size_t>(k * elem));
    const int64_t offset = h.data_offset + first * elem;
    if (src->read_at(offset, chunk) != chunk.size()) {
      bad_npy(path, str_cat("truncated NPY data: ", n, " labels need ", n * elem, " bytes"));
    }
    for (int64_t i = 0; i < k; ++i) {
      const uint8_t* p = chunk.data() + i * elem;
      int64_t v = 0;
      if (elem == 4) {
        v = static_cast<int32_t>(le32(p));
      } else {
        v = static_cast<int64_t>(uint64_t{le32(p)} | (uint64_t{le32(p + 4)} << 32));
      }
      if (v < 0 || v > INT32_MAX) {
        bad_npy(path, str_cat("label ", first + i, " is ", v, ": labels must be in [0, 2^31)"));
      }
      labels.push_back(v);
    }
  }
  return labels;
}

}  // namespace

NpyHeader parse_npy_header(std::span<const uint8_t> bytes, const std::string& path) {
  const Preamble p = read_preamble(bytes, path);
  const size_t data_offset = 8 + p.len_bytes + p.header_len;
  if (bytes.size() < data_offset) {
    bad_npy(path, str_cat("truncated NPY header: expected ", p.header_len, " header bytes"));
  }
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()) + 8 + p.len_bytes,
                              p.header_len);
  NpyHeader h = HeaderParser(text, path).parse();
  h.data_offset = static_cast<int64_t>(data_offset);
  return h;
}

std::unique_ptr<Dataset> open_npy_dataset(const std::string& images, const std::string& labels) {
  auto src = open_byte_source(images);
  NpyHeader h = read_npy_header(*src);
  check_layout(images, h);
  if (h.descr != "<f4") {
    const bool big = !h.descr.empty() && h.descr.front() == '>';
    bad_npy(images,
            str_cat("NPY images dtype '", h.descr, "' not supported", big ? " (big-endian)" : "",
                    ": expected '<f4' (little-endian float32); convert with "
                    "a.astype('<f4')"));
  }
  if (h.shape.size() != 3 && h.shape.size() != 4) {
    bad_npy(images, str_cat("NPY images have shape ", shape_text(h.shape),
                            ": expected (N, C, H, W) or (N, H, W)"));
  }
  int64_t per_image = 1;
  for (size_t i = 1; i < h.shape.size(); ++i) {
    if (__builtin_mul_overflow(per_image, h.shape[i], &per_image)) per_image = INT64_MAX;
  }
  if (per_image == 0 || per_image > kMaxImagePixels) {
    bad_npy(images, str_cat("NPY images have shape ", shape_text(h.shape), ": each image must ",
                            "hold between 1 and ", kMaxImagePixels, " values"));
  }
  checked_data_bytes(*src, h, 4);
  std::vector<int64_t> label_values;
  if (!labels.empty()) {
    label_values = load_npy_labels(labels);
    if (static_cast<int64_t>(label_values.size()) != h.shape[0]) {
      throw Error(ErrorKind::InvalidData,
                  str_cat(images, " and ", labels, ": ", h.shape[0], " images but ",
                          label_values.size(), " labels: counts must match"));
    }
  }
  return std::make_unique<NpyDataset>(std::move(src), std::move(h), std::move(label_values),
                                      !labels.empty());
}

}  // namespace gammaq::data
