// SPDX-License-Identifier: MIT
// UAPI socket: accept, read requests up to the empty line, answer.
#include "control/uapi_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace slirpvpn::control {
namespace {

bool directory_writable(const std::string& directory) {
  ::mkdir(directory.c_str(), 0755);  // may exist; access() below decides
  return ::access(directory.c_str(), W_OK | X_OK) == 0;
}

// Writes all of `text`, waiting briefly for a slow reader; false when the client is gone.
bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t written = ::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
    if (written > 0) {
      text.remove_prefix(size_t(written));
      continue;
    }
    if (written < 0 && errno == EINTR) continue;
    if (written < 0 && errno == EAGAIN) {
      pollfd descriptor{fd, POLLOUT, 0};
      if (::poll(&descriptor, 1, 1000) <= 0) return false;
      continue;
    }
    return false;
  }
  return true;
}

}  // namespace

std::string default_socket_path(const std::string& interface_name) {
  const std::string file = interface_name + ".sock";
  if (directory_writable("/var/run/wireguard")) return "/var/run/wireguard/" + file;
  if (const char* runtime = std::getenv("RUNTIME_DIRECTORY"); runtime && *runtime) {
    return std::string(runtime) + "/" + file;
  }
  if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime && *runtime) {
    const std::string directory = std::string(runtime) + "/wireguard";
    if (directory_writable(directory)) return directory + "/" + file;
  }
  const std::string directory = "/tmp/slirpvpn-" + std::to_string(::getuid());
  ::mkdir(directory.c_str(), 0700);
  return directory + "/" + file;
}

Expected<std::unique_ptr<UapiSocket>> UapiSocket::open(const std::string& path,
                                                       net::EventLoop& loop, UapiHandler& handler) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) return fail("uapi socket", path + ": path too long");
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);

  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail_errno("uapi socket", path);
  // A live server answers a connect: then the name is taken. A refused connect is a leftover.
  const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe >= 0) {
    const bool alive = ::connect(probe, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(probe);
    if (alive) {
      ::close(fd);
      return fail("uapi socket",
                  path + " is served by another running process (interface name in use)",
                  EADDRINUSE);
    }
  }
  ::unlink(path.c_str());
  const mode_t previous = ::umask(0177);  // created 0600: the socket hands out private keys
  const int bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::umask(previous);
  if (bound != 0 || ::listen(fd, 16) != 0) {
    const int error = errno;
    ::close(fd);
    return fail("uapi socket", "bind " + path, error);
  }
  std::unique_ptr<UapiSocket> socket(new UapiSocket(path, fd, loop, handler));
  if (auto added = loop.add(fd, EPOLLIN, socket.get()); !added)
    return tl::unexpected(added.error());
  return socket;
}

UapiSocket::UapiSocket(std::string path, int fd, net::EventLoop& loop, UapiHandler& handler)
    : path_(std::move(path)), listen_fd_(fd), loop_(loop), handler_(handler) {}

UapiSocket::~UapiSocket() {
  while (!clients_.empty()) close_client(clients_.begin()->first);
  loop_.remove(listen_fd_);
  ::close(listen_fd_);
  ::unlink(path_.c_str());
}

void UapiSocket::on_io(int fd, uint32_t revents) noexcept {
  if (fd == listen_fd_) {
    accept_clients();
  } else if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    serve(fd);
  }
}

void UapiSocket::accept_clients() noexcept {
  for (;;) {
    const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (client < 0) return;
    if (clients_.size() >= kMaxConnections || !loop_.add(client, EPOLLIN, this)) {
      ::close(client);
      continue;
    }
    clients_.emplace(client, std::string());
  }
}

void UapiSocket::serve(int fd) noexcept {
  auto found = clients_.find(fd);
  if (found == clients_.end()) return;
  std::string& buffer = found->second;
  char chunk[4096];
  for (;;) {
    const ssize_t got = ::recv(fd, chunk, sizeof chunk, 0);
    if (got > 0) {
      buffer.append(chunk, size_t(got));
      if (buffer.size() > kMaxRequestBytes) return close_client(fd);
      continue;
    }
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && errno == EAGAIN) break;
    return close_client(fd);  // closed by the client, or an error
  }
  size_t end;
  while ((end = buffer.find("\n\n")) != std::string::npos) {
    const std::string request = buffer.substr(0, end + 2);
    buffer.erase(0, end + 2);
    const auto parsed = parse_request(request);
    std::string response;
    if (!parsed.request) {
      spdlog::debug("uapi: refused request: {}", parsed.detail);
      response = format_errno(parsed.error);
    } else if (parsed.request->operation == Operation::kGet) {
      response = format_get_response(handler_.uapi_get());
    } else {
      response = format_errno(handler_.uapi_set(parsed.request->set));
    }
    if (!write_all(fd, response)) return close_client(fd);
  }
}

void UapiSocket::close_client(int fd) noexcept {
  loop_.remove(fd);
  ::close(fd);
  clients_.erase(fd);
}

}  // namespace slirpvpn::control
