// SPDX-License-Identifier: MIT
// Key decoding and owner-only key files (open, fstat the same descriptor, read, wipe).
#include "config/keys.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "config/ini.h"

namespace slirpvpn::config {

namespace {

// A key file holds 44 characters and a newline; anything much longer is not a key file.
constexpr size_t kMaxKeyFileSize = 256;

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) noexcept : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

std::string octal_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", unsigned(mode & 07777));
  return text;
}

}  // namespace

ValueResult<crypto::PublicKey> parse_public_key(std::string_view text) {
  auto bytes = crypto::decode_key(text);
  if (!bytes) {
    return tl::unexpected<std::string>(quote(text) +
                                       " is not a base64 32-byte key (as `wg pubkey` prints)");
  }
  crypto::PublicKey key;
  key.bytes = *bytes;
  return key;
}

ValueResult<crypto::SymmetricKey> parse_secret_key(std::string_view text) {
  auto bytes = crypto::decode_key(text);
  if (!bytes) {
    return tl::unexpected<std::string>(
        "not a base64 32-byte key (as `wg genkey` / `wg genpsk` print)");
  }
  crypto::SymmetricKey key{std::span<const uint8_t, crypto::kKeyLen>(*bytes)};
  sodium_memzero(bytes->data(), bytes->size());
  return key;
}

ValueResult<crypto::SymmetricKey> read_key_file(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not hang; it is refused below as not a regular file.
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) {
    return tl::unexpected<std::string>("cannot open " + quote(path) + ": " + std::strerror(errno));
  }
  struct stat status {};
  if (::fstat(fd.get(), &status) != 0) {
    return tl::unexpected<std::string>("cannot stat " + quote(path) + ": " + std::strerror(errno));
  }
  if (!S_ISREG(status.st_mode)) {
    return tl::unexpected<std::string>(quote(path) + " is not a regular file");
  }
  if ((status.st_mode & 077) != 0) {
    return tl::unexpected<std::string>("key file " + quote(path) + " is world accessible (mode " +
                                       octal_mode(status.st_mode) + "): run chmod 600 " + path);
  }
  std::array<char, kMaxKeyFileSize + 1> buffer;
  size_t length = 0;
  while (length < buffer.size()) {
    const ssize_t n = ::read(fd.get(), buffer.data() + length, buffer.size() - length);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int saved = errno;
      sodium_memzero(buffer.data(), buffer.size());
      return tl::unexpected<std::string>("cannot read " + quote(path) + ": " +
                                         std::strerror(saved));
    }
    if (n == 0) break;
    length += size_t(n);
  }
  std::string_view text(buffer.data(), length);
  const auto first = text.find_first_not_of(" \t\r\n");
  const auto last = text.find_last_not_of(" \t\r\n");
  text =
      first == std::string_view::npos ? std::string_view{} : text.substr(first, last - first + 1);
  ValueResult<crypto::SymmetricKey> key = length > kMaxKeyFileSize
                                              ? tl::unexpected<std::string>("the file is too large")
                                              : parse_secret_key(text);
  sodium_memzero(buffer.data(), buffer.size());
  if (!key) {
    return tl::unexpected<std::string>(quote(path) + " does not hold a key: " + key.error());
  }
  return key;
}

std::string resolve_relative_to(std::string_view config_file, std::string_view path) {
  // systemd's LoadCredential= hands the key over in $CREDENTIALS_DIRECTORY (a private tmpfs).
  for (std::string_view prefix : {"$CREDENTIALS_DIRECTORY/", "${CREDENTIALS_DIRECTORY}/"}) {
    if (!path.starts_with(prefix)) continue;
    const char* directory = std::getenv("CREDENTIALS_DIRECTORY");
    if (directory && *directory)
      return std::string(directory) + "/" + std::string(path.substr(prefix.size()));
  }
  if (!path.empty() && path.front() == '/') return std::string(path);
  const auto slash = config_file.rfind('/');
  if (slash == std::string_view::npos) return std::string(path);
  return std::string(config_file.substr(0, slash + 1)) + std::string(path);
}

}  // namespace slirpvpn::config
