// Files read at byte offsets. Uncompressed files use pread (any order, no shared cursor).
// Gzip files are decompressed sequentially with zlib's gz* API: the stream keeps a forward
// cursor, skips forward by decompressing into a scratch buffer, and restarts (gzrewind) only
// when asked for data before the cursor, so reading a dataset in order decompresses it once.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>

#include "data/readers.h"
#include "gammaq/error.h"

namespace gammaq::data {
namespace {

std::atomic<int64_t> g_gz_stream_starts{0};

[[noreturn]] void throw_errno(const std::string& path, std::string_view what, int err) {
  throw Error(ErrorKind::Io, str_cat(path, ": ", what, ": ", std::strerror(err)));
}

// An open file descriptor, closed on destruction.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const noexcept { return fd_; }

 private:
  int fd_;
};

// Opens a regular file for reading, returns it and its size.
std::unique_ptr<Fd> open_regular(const std::string& path, int64_t& size) {
  auto fd = std::make_unique<Fd>(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd->get() < 0) throw_errno(path, "cannot open", errno);
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) throw_errno(path, "cannot open", errno);
  if (S_ISDIR(st.st_mode)) throw_errno(path, "cannot open", EISDIR);
  size = static_cast<int64_t>(st.st_size);
  return fd;
}

size_t pread_full(int fd, const std::string& path, int64_t offset, std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(fd, out.data() + done, out.size() - done,
                              static_cast<off_t>(offset) + static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(path, "read failed", errno);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

class RawFileSource final : public ByteSource {
 public:
  explicit RawFileSource(std::string path) : path_(std::move(path)) {
    fd_ = open_regular(path_, size_);
  }
  const std::string& path() const noexcept override { return path_; }
  bool compressed() const noexcept override { return false; }
  std::optional<int64_t> size() const noexcept override { return size_; }
  size_t read_at(int64_t offset, std::span<uint8_t> out) override {
    GAMMAQ_CHECK(offset >= 0, offset);
    return pread_full(fd_->get(), path_, offset, out);
  }

 private:
  std::string path_;
  int64_t size_ = 0;
  std::unique_ptr<Fd> fd_;
};

struct GzCloser {
  void operator()(gzFile_s* f) const noexcept { gzclose(f); }
};

class GzFileSource final : public ByteSource {
 public:
  explicit GzFileSource(std::string path) : path_(std::move(path)) {
    gz_.reset(gzopen(path_.c_str(), "rb"));
    if (!gz_) throw_errno(path_, "cannot open", errno != 0 ? errno : ENOMEM);
    gzbuffer(gz_.get(), 1 << 17);
    g_gz_stream_starts.fetch_add(1, std::memory_order_relaxed);
  }
  const std::string& path() const noexcept override { return path_; }
  bool compressed() const noexcept override { return true; }
  std::optional<int64_t> size() const noexcept override { return std::nullopt; }

  size_t read_at(int64_t offset, std::span<uint8_t> out) override {
    GAMMAQ_CHECK(offset >= 0, offset);
    if (offset < cursor_) restart();
    // Skip forward to `offset`.
    std::array<uint8_t, 1 << 14> scratch;
    while (cursor_ < offset) {
      const auto want = static_cast<size_t>(
          std::min<int64_t>(offset - cursor_, static_cast<int64_t>(scratch.size())));
      const size_t got = read_some(std::span<uint8_t>(scratch.data(), want));
      if (got == 0) return 0;  // the data ends before `offset`
    }
    size_t done = 0;
    while (done < out.size()) {
      const size_t got = read_some(out.subspan(done));
      if (got == 0) break;
      done += got;
    }
    return done;
  }

 private:
  // One gzread of at most 1 GiB; advances the cursor; 0 at the end of the data.
  size_t read_some(std::span<uint8_t> out) {
    if (at_end_) return 0;
    const auto len = static_cast<unsigned>(std::min<size_t>(out.size(), size_t{1} << 30));
    const int n = gzread(gz_.get(), out.data(), len);
    if (n < 0) throw_gz_error();
    if (n == 0) {
      // End of data: a clean end of stream, or truncation (zlib reports Z_BUF_ERROR).
      int errnum = Z_OK;
      gzerror(gz_.get(), &errnum);
      if (errnum != Z_OK && errnum != Z_BUF_ERROR) throw_gz_error();
      at_end_ = true;
      return 0;
    }
    cursor_ += n;
    return static_cast<size_t>(n);
  }

  void restart() {
    if (gzrewind(gz_.get()) != 0) throw_gz_error();
    cursor_ = 0;
    at_end_ = false;
    g_gz_stream_starts.fetch_add(1, std::memory_order_relaxed);
  }

  [[noreturn]] void throw_gz_error() {
    int errnum = Z_OK;
    const char* msg = gzerror(gz_.get(), &errnum);
    if (errnum == Z_ERRNO) throw_errno(path_, "read failed", errno);
    throw Error(ErrorKind::InvalidData,
                str_cat(path_, ": corrupt gzip data: ", msg != nullptr ? msg : "unknown error",
                        " (after ", cursor_, " decompressed bytes)"));
  }

  std::string path_;
  std::unique_ptr<gzFile_s, GzCloser> gz_;
  int64_t cursor_ = 0;
  bool at_end_ = false;
};

}  // namespace

std::unique_ptr<ByteSource> open_byte_source(const std::string& path) {
  auto raw = std::make_unique<RawFileSource>(path);
  std::array<uint8_t, 2> magic{};
  if (raw->read_at(0, magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
    return std::make_unique<GzFileSource>(path);
  }
  return raw;
}

std::vector<uint8_t> read_whole_file(const std::string& path, int64_t max_bytes) {
  int64_t size = 0;
  auto fd = open_regular(path, size);
  if (size > max_bytes) {
    throw Error(ErrorKind::InvalidData,
                str_cat(path, ": file too large: ", size, " bytes, limit ", max_bytes));
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  bytes.resize(pread_full(fd->get(), path, 0, bytes));
  return bytes;
}

int64_t gz_stream_starts() noexcept { return g_gz_stream_starts.load(std::memory_order_relaxed); }

}  // namespace gammaq::data
