// IDX files (the MNIST format, http://yann.lecun.com/exdb/mnist/), raw or gzip-compressed:
//
//   bytes 0-1  zero            byte 2  dtype code           byte 3  number of dimensions
//   then one big-endian uint32 per dimension, then the data in row-major order, big-endian.
//   dtype codes: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.
//
// Images must be uint8 with 3 dimensions (N, H, W); they are read lazily, one image per
// read_at. Labels must be integers with 1 dimension and are loaded whole. Uncompressed files
// must be exactly as long as the header says (checked at open); gzip files are checked when
// the data is read (a truncated stream throws Error(InvalidData) then).
#include <algorithm>
#include <array>

#include "data/readers.h"
#include "gammaq/error.h"

namespace gammaq::data {
namespace {

struct IdxHeader {
  uint8_t dtype = 0;
  std::vector<int64_t> dims;
  int64_t header_bytes = 0;  // 4 + 4 * rank
  int64_t element_bytes = 0;
  int64_t data_bytes = 0;  // product of dims * element_bytes
};

std::string_view dtype_name(uint8_t code) {
  switch (code) {
    case 0x08: return "uint8";
    case 0x09: return "int8";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return "";
  }
}

int64_t dtype_bytes(uint8_t code) {
  switch (code) {
    case 0x08:
    case 0x09: return 1;
    case 0x0B: return 2;
    case 0x0C:
    case 0x0D: return 4;
    case 0x0E: return 8;
    default: return 0;
  }
}

std::string hex_byte(uint8_t b) {
  constexpr std::string_view kDigits = "0123456789abcdef";
  return str_cat("0x", kDigits[b >> 4], kDigits[b & 15]);
}

std::string dims_str(const std::vector<int64_t>& dims) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) s += str_cat(i == 0 ? "" : "x", dims[i]);
  return s;
}

[[noreturn]] void bad_idx(const std::string& path, std::string_view what) {
  throw Error(ErrorKind::InvalidData, str_cat(path, ": ", what));
}

[[noreturn]] void truncated(const ByteSource& src, const IdxHeader& h, int64_t at) {
  bad_idx(src.path(),
          str_cat("truncated IDX ", src.compressed() ? "(gzip) " : "", "data: header ", "says ",
                  dims_str(h.dims), " ", dtype_name(h.dtype), " (", h.header_bytes + h.data_bytes,
                  " bytes), data ends before byte ", at));
}

IdxHeader read_idx_header(ByteSource& src) {
  const std::string& path = src.path();
  std::array<uint8_t, 4> magic{};
  if (src.read_at(0, magic) != magic.size()) {
    bad_idx(path, "not an IDX file: shorter than the 4-byte magic");
  }
  if (magic[0] != 0 || magic[1] != 0) {
    bad_idx(path, str_cat("bad IDX magic: first bytes ", hex_byte(magic[0]), " ",
                          hex_byte(magic[1]), ", expected 0x00 0x00"));
  }
  IdxHeader h;
  h.dtype = magic[2];
  h.element_bytes = dtype_bytes(h.dtype);
  if (h.element_bytes == 0) {
    bad_idx(path, str_cat("bad IDX dtype code ", hex_byte(h.dtype),
                          ": expected 0x08, 0x09, 0x0b, 0x0c, 0x0d or 0x0e"));
  }
  const int rank = magic[3];
  if (rank == 0) bad_idx(path, "bad IDX header: 0 dimensions, expected at least 1");
  std::vector<uint8_t> raw_dims(static_cast<size_t>(rank) * 4);
  if (src.read_at(4, raw_dims) != raw_dims.size()) {
    bad_idx(path, str_cat("truncated IDX header: ", rank, " dimensions need ", 4 + 4 * rank,
                          " header bytes"));
  }
  h.header_bytes = 4 + 4 * int64_t{rank};
  int64_t count = h.element_bytes;
  for (int i = 0; i < rank; ++i) {
    const uint8_t* p = raw_dims.data() + 4 * i;
    const int64_t d = (int64_t{p[0]} << 24) | (int64_t{p[1]} << 16) | (int64_t{p[2]} << 8) | p[3];
    h.dims.push_back(d);
    if (__builtin_mul_overflow(count, d, &count)) {
      bad_idx(path, str_cat("bad IDX header: dimensions ", dims_str(h.dims),
                            "... overflow 64-bit byte counts"));
    }
  }
  h.data_bytes = count;
  if (const auto size = src.size()) {
    const int64_t expected = h.header_bytes + h.data_bytes;
    if (*size < expected) {
      bad_idx(path,
              str_cat("truncated IDX file: header says ", dims_str(h.dims), " ",
                      dtype_name(h.dtype), " (", expected, " bytes), file has ", *size, " bytes"));
    }
    if (*size > expected) {
      bad_idx(path, str_cat("bad IDX file: header says ", dims_str(h.dims), " ",
                            dtype_name(h.dtype), " (", expected, " bytes), file has ", *size,
                            " bytes (", *size - expected, " trailing)"));
    }
  }
  return h;
}

class IdxImageSource final : public ImageSource {
 public:
  IdxImageSource(std::unique_ptr<ByteSource> src, IdxHeader h)
      : src_(std::move(src)), header_(std::move(h)) {}

  int64_t size() const noexcept override { return header_.dims[0]; }
  int64_t height() const noexcept override { return header_.dims[1]; }
  int64_t width() const noexcept override { return header_.dims[2]; }
  std::string where(int64_t i) const override { return str_cat(src_->path(), " image ", i); }

  void read(int64_t begin, int64_t count, std::vector<RawImage>& out) override {
    GAMMAQ_CHECK(begin >= 0 && count >= 0 && begin <= size() - count, begin, count, size());
    out.resize(static_cast<size_t>(count));
    const int64_t image_bytes = height() * width();  // <= kMaxImagePixels, checked at open
    for (int64_t i = 0; i < count; ++i) {
      RawImage& img = out[static_cast<size_t>(i)];
      img.height = height();
      img.width = width();
      img.channels = 1;
      img.pixels.resize(static_cast<size_t>(image_bytes));
      const int64_t offset = header_.header_bytes + (begin + i) * image_bytes;
      const size_t got = src_->read_at(offset, img.pixels);
      if (static_cast<int64_t>(got) != image_bytes) {
        truncated(*src_, header_, offset + static_cast<int64_t>(got));
      }
    }
  }

 private:
  std::unique_ptr<ByteSource> src_;
  IdxHeader header_;
};

}  // namespace

std::unique_ptr<ImageSource> open_idx_images(const std::string& path) {
  auto src = open_byte_source(path);
  IdxHeader h = read_idx_header(*src);
  if (h.dtype != 0x08) {
    bad_idx(path, str_cat("IDX dtype ", hex_byte(h.dtype), " (", dtype_name(h.dtype),
                          ") not supported for images: expected 0x08 (uint8)"));
  }
  if (h.dims.size() != 3) {
    bad_idx(path, str_cat("IDX images have ", h.dims.size(), " dimensions (", dims_str(h.dims),
                          "): expected 3 (N, H, W)"));
  }
  if (h.dims[1] == 0 || h.dims[2] == 0) {
    bad_idx(path, str_cat("IDX images are ", h.dims[1], "x", h.dims[2], ": expected H, W > 0"));
  }
  if (h.dims[1] * h.dims[2] > kMaxImagePixels) {  // each < 2^32: no overflow
    bad_idx(path, str_cat("IDX images are ", h.dims[1], "x", h.dims[2], ": more than ",
                          kMaxImagePixels, " pixels per image"));
  }
  return std::make_unique<IdxImageSource>(std::move(src), std::move(h));
}

std::vector<int64_t> load_idx_labels(const std::string& path) {
  auto src = open_byte_source(path);
  const IdxHeader h = read_idx_header(*src);
  if (h.dtype != 0x08 && h.dtype != 0x09 && h.dtype != 0x0B && h.dtype != 0x0C) {
    bad_idx(path, str_cat("IDX dtype ", hex_byte(h.dtype), " (", dtype_name(h.dtype),
                          ") not supported for labels: expected an integer type (0x08, 0x09, "
                          "0x0b or 0x0c)"));
  }
  if (h.dims.size() != 1) {
    bad_idx(path, str_cat("IDX labels have ", h.dims.size(), " dimensions (", dims_str(h.dims),
                          "): expected 1 (N)"));
  }
  // Read in chunks so that memory follows the data present, not what a header claims.
  std::vector<int64_t> labels;
  std::vector<uint8_t> chunk;
  const int64_t n = h.dims[0];
  const int64_t eb = h.element_bytes;
  constexpr int64_t kChunkLabels = 1 << 16;
  for (int64_t first = 0; first < n; first += kChunkLabels) {
    const int64_t k = std::min(kChunkLabels, n - first);
    chunk.resize(static_cast<size_t>(k * eb));
    const int64_t offset = h.header_bytes + first * eb;
    const size_t got = src->read_at(offset, chunk);
    if (got != chunk.size()) truncated(*src, h, offset + static_cast<int64_t>(got));
    for (int64_t i = 0; i < k; ++i) {
      const uint8_t* p = chunk.data() + i * eb;
      int64_t v = 0;
      switch (h.dtype) {
        case 0x08: v = p[0]; break;
        case 0x09: v = static_cast<int8_t>(p[0]); break;
        case 0x0B: v = static_cast<int16_t>((p[0] << 8) | p[1]); break;
        default:
          v = static_cast<int32_t>((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
                                   (uint32_t{p[2]} << 8) | uint32_t{p[3]});
          break;
      }
      if (v < 0) {
        bad_idx(path, str_cat("label ", first + i, " is ", v, ": labels must be in [0, 2^31)"));
      }
      labels.push_back(v);
    }
  }
  return labels;
}

}  // namespace gammaq::data
