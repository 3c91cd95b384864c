// SPDX-License-Identifier: MIT
// UAPI requests over a UNIX stream socket, with a deadline.
#include "control/uapi_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>

namespace slirpvpn::control {
namespace {

// Closes the descriptor on every return path.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

bool response_complete(std::string_view text) {
  if (!text.ends_with("\n\n")) return false;
  return text.starts_with("errno=") || text.find("\nerrno=") != std::string_view::npos;
}

}  // namespace

std::string wg_socket_path(std::string_view interface_name) {
  return "/var/run/wireguard/" + std::string(interface_name) + ".sock";
}

Expected<std::string> uapi_exchange(const std::string& path, std::string_view request,
                                    int timeout_ms) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) return fail("uapi", path + ": path too long");
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  Fd socket{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (socket.fd < 0) return fail_errno("uapi socket", path);
  if (::connect(socket.fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
    return fail_errno("connect", path);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  const auto wait = [&](short events) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) return false;
    pollfd descriptor{socket.fd, events, 0};
    return ::poll(&descriptor, 1, int(left)) > 0;
  };
  while (!request.empty()) {
    if (!wait(POLLOUT)) return fail("uapi", path + ": timed out sending", ETIMEDOUT);
    const ssize_t sent = ::send(socket.fd, request.data(), request.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0) return fail_errno("send", path);
    request.remove_prefix(size_t(sent));
  }
  std::string response;
  char chunk[4096];
  while (!response_complete(response)) {
    if (!wait(POLLIN)) return fail("uapi", path + ": timed out waiting for the answer", ETIMEDOUT);
    const ssize_t got = ::recv(socket.fd, chunk, sizeof chunk, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return fail_errno("recv", path);
    if (got == 0) return fail("uapi", path + ": connection closed before the answer", EPROTO);
    response.append(chunk, size_t(got));
  }
  return response;
}

int response_errno(std::string_view response) {
  size_t at = response.starts_with("errno=") ? 0 : response.rfind("\nerrno=");
  if (at == std::string_view::npos) return -1;
  if (at != 0) ++at;
  const auto digits = response.substr(at + 6);
  int value = -1;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (error != std::errc() || end == digits.data() || *end != '\n') return -1;
  return value;
}

}  // namespace slirpvpn::control
