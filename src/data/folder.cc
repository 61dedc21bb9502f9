// folder:DIR -- one sub-folder per class, like torchvision's ImageFolder:
//
//   DIR/<class>/<image>.{png,jpg,jpeg}   (extension case-insensitive)
//
// The class index is the position of the sub-folder's name in byte-wise sorted order; files
// are ordered by (class, file name), so the listing is deterministic. Names starting with '.'
// are ignored, and so are plain files directly in DIR, unless no sub-folder holds images:
// then DIR is a flat folder of unlabelled images (DIR/<image>). The listing is made at open; images
// are decoded with stb_image at read time. Gray and gray+alpha files decode to 1 channel,
// everything else to RGB; alpha is dropped (not composited).
#include <stb/stb_image.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <system_error>

#include "data/readers.h"
#include "gammaq/error.h"

namespace gammaq::data {
namespace {

namespace fs = std::filesystem;

bool is_image_name(const std::string& name) {
  if (name.empty() || name.front() == '.') return false;
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos) return false;
  std::string ext = name.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == "png" || ext == "jpg" || ext == "jpeg";
}

[[noreturn]] void io_error(const std::string& path, const std::error_code& ec) {
  throw Error(ErrorKind::Io, str_cat(path, ": cannot open: ", ec.message()));
}

// Sorted names of the entries of `dir` for which `keep(entry)` holds.
template <typename Keep>
std::vector<std::string> sorted_names(const fs::path& dir, Keep keep) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) io_error(dir.string(), ec);
  std::vector<std::string> names;
  for (const fs::directory_iterator end; it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.empty() && name.front() != '.' && keep(*it)) names.push_back(name);
  }
  if (ec) io_error(dir.string(), ec);
  std::sort(names.begin(), names.end());
  return names;
}

struct StbiFree {
  void operator()(unsigned char* p) const noexcept { stbi_image_free(p); }
};

[[noreturn]] void cannot_decode(const std::string& path) {
  const char* reason = stbi_failure_reason();
  throw Error(ErrorKind::InvalidData, str_cat(path, ": cannot decode image (stb_image: ",
                                              reason != nullptr ? reason : "unknown error", ")"));
}

struct ImageInfo {
  int width = 0;
  int height = 0;
  int comp = 0;  // channels in the file: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
};

// Reads the image header (no pixels); checks the size against kMaxImagePixels.
ImageInfo probe_image(const std::vector<uint8_t>& bytes, const std::string& path) {
  ImageInfo info;
  static_assert(kMaxImageFileBytes <= INT32_MAX, "stb_image takes int lengths");
  if (stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &info.width, &info.height,
                            &info.comp) == 0 ||
      info.width <= 0 || info.height <= 0) {
    cannot_decode(path);
  }
  if (int64_t{info.width} * info.height > kMaxImagePixels) {
    throw Error(ErrorKind::InvalidData, str_cat(path, ": image is ", info.height, "x", info.width,
                                                ": more than ", kMaxImagePixels, " pixels"));
  }
  return info;
}

class FolderImageSource final : public ImageSource {
 public:
  FolderImageSource(FolderListing listing, int64_t height, int64_t width)
      : listing_(std::move(listing)), height_(height), width_(width) {}

  int64_t size() const noexcept override { return static_cast<int64_t>(listing_.files.size()); }
  int64_t height() const noexcept override { return height_; }
  int64_t width() const noexcept override { return width_; }
  std::string where(int64_t i) const override { return listing_.files[static_cast<size_t>(i)]; }

  void read(int64_t begin, int64_t count, std::vector<RawImage>& out) override {
    GAMMAQ_CHECK(begin >= 0 && count >= 0 && begin <= size() - count, begin, count, size());
    out.resize(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
      out[static_cast<size_t>(i)] =
          decode_image_file(listing_.files[static_cast<size_t>(begin + i)]);
    }
  }

 private:
  FolderListing listing_;
  int64_t height_;
  int64_t width_;
};

}  // namespace

FolderListing list_image_folder(const std::string& dir, bool skip_bad) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    if (ec) io_error(dir, ec);
    if (!fs::exists(dir, ec))
      io_error(dir, std::make_error_code(std::errc::no_such_file_or_directory));
    io_error(dir, std::make_error_code(std::errc::not_a_directory));
  }
  FolderListing listing;
  listing.classes = sorted_names(dir, [](const fs::directory_entry& e) {
    std::error_code is_dir_ec;
    return e.is_directory(is_dir_ec);
  });
  auto images_in = [](const fs::path& d) {
    return sorted_names(d, [](const fs::directory_entry& e) {
      std::error_code is_dir_ec;
      return !e.is_directory(is_dir_ec) && is_image_name(e.path().filename().string());
    });
  };
  for (size_t c = 0; c < listing.classes.size(); ++c) {
    const fs::path class_dir = fs::path(dir) / listing.classes[c];
    for (const std::string& f : images_in(class_dir)) {
      listing.files.push_back((class_dir / f).string());
      listing.labels.push_back(static_cast<int64_t>(c));
    }
  }
  if (listing.files.empty()) {  // a flat folder: its own images, unlabelled
    listing.classes.clear();
    for (const std::string& f : images_in(fs::path(dir)))
      listing.files.push_back((fs::path(dir) / f).string());
  }
  if (skip_bad && !listing.files.empty()) {
    FolderListing kept;
    kept.classes = listing.classes;
    std::string first;
    int64_t skipped = 0;
    for (size_t i = 0; i < listing.files.size(); ++i) {
      try {
        (void)decode_image_file(listing.files[i]);
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::InvalidData) throw;
        if (skipped++ == 0) first = e.what();
        continue;
      }
      kept.files.push_back(listing.files[i]);
      if (!listing.labels.empty()) kept.labels.push_back(listing.labels[i]);
    }
    if (skipped > 0)
      kept.notes.push_back(str_cat(dir, ": skipped ", skipped, " of ", listing.files.size(),
                                   " images that do not decode (--skip-bad; the first: ", first,
                                   ")"));
    listing = std::move(kept);
  }
  if (listing.files.empty()) {
    throw Error(ErrorKind::InvalidData,
                str_cat(dir,
                        ": no images found: expected DIR/<class>/<name>.png|.jpg|.jpeg or "
                        "DIR/<name>.png|.jpg|.jpeg (",
                        listing.classes.size(), " class folders)"));
  }
  return listing;
}

RawImage decode_image_file(const std::string& path) {
  const std::vector<uint8_t> bytes = read_whole_file(path, kMaxImageFileBytes);
  const ImageInfo info = probe_image(bytes, path);
  const int want = info.comp <= 2 ? 1 : 3;
  int w = 0;
  int h = 0;
  int comp = 0;
  std::unique_ptr<unsigned char, StbiFree> pixels(
      stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &comp, want));
  if (!pixels || w <= 0 || h <= 0) cannot_decode(path);
  RawImage img;
  img.height = h;
  img.width = w;
  img.channels = want;
  img.pixels.assign(pixels.get(), pixels.get() + int64_t{w} * h * want);
  return img;
}

std::unique_ptr<ImageSource> open_folder_images(FolderListing listing) {
  GAMMAQ_CHECK(!listing.files.empty());
  // The first image's size is the dataset's native size (used when no resize is asked for).
  const std::string& first = listing.files.front();
  const ImageInfo info = probe_image(read_whole_file(first, kMaxImageFileBytes), first);
  const int64_t h = info.height;
  const int64_t w = info.width;
  return std::make_unique<FolderImageSource>(std::move(listing), h, w);
}

}  // namespace gammaq::data
