// SPDX-License-Identifier: MIT
// Reads configuration files with one open and fstat, wiping the text when it dies.
#include "config/config_file.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace slirpvpn::config {

namespace {

constexpr size_t kMaxConfigSize = 1 << 20;

}  // namespace

ConfigText::~ConfigText() {
  if (!text.empty()) sodium_memzero(text.data(), text.size());
}

std::string octal_mode_text(unsigned mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", mode & 07777);
  return text;
}

ConfigExpected<ConfigText> read_config_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return config_fail(path, 0, std::string("cannot open: ") + std::strerror(errno));
  struct stat status {};
  if (::fstat(fd, &status) != 0 || !S_ISREG(status.st_mode)) {
    ::close(fd);
    return config_fail(path, 0, "not a regular file");
  }
  if (size_t(status.st_size) > kMaxConfigSize) {
    ::close(fd);
    return config_fail(path, 0, "larger than 1 MiB: not a configuration file");
  }
  ConfigText result;
  result.readable_by_others = (status.st_mode & 044) != 0;
  result.world_readable = (status.st_mode & 004) != 0;
  result.mode = unsigned(status.st_mode & 07777);
  // Reserve once so the text is never reallocated (which would leave an unwiped copy behind).
  result.text.resize(kMaxConfigSize + 1);
  size_t length = 0;
  while (length < result.text.size()) {
    const ssize_t n = ::read(fd, result.text.data() + length, result.text.size() - length);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int saved = errno;
      ::close(fd);
      return config_fail(path, 0, std::string("cannot read: ") + std::strerror(saved));
    }
    if (n == 0) break;
    length += size_t(n);
  }
  ::close(fd);
  if (length > kMaxConfigSize)
    return config_fail(path, 0, "larger than 1 MiB: not a configuration file");
  sodium_memzero(result.text.data() + length, result.text.size() - length);
  result.text.resize(length);
  return result;
}

}  // namespace slirpvpn::config
