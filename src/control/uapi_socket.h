// SPDX-License-Identifier: MIT
// The UAPI's UNIX socket (/var/run/wireguard/NAME.sock), served from the event loop.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "common/error.h"
#include "control/uapi.h"
#include "net/event_loop.h"

namespace slirpvpn::control {

// The program the socket controls. Called on the loop thread.
class UapiHandler {
 public:
  virtual DeviceSnapshot uapi_get() = 0;
  // Applies a validated set request; returns 0 or an errno value.
  virtual int uapi_set(const SetRequest& request) = 0;

 protected:
  ~UapiHandler() = default;
};

// Where the socket goes: /var/run/wireguard/NAME.sock when this process may create it there
// (that path is compiled into `wg`); otherwise the runtime directory of a rootless service
// ($RUNTIME_DIRECTORY from systemd, else $XDG_RUNTIME_DIR/wireguard, else
// /tmp/slirpvpn-UID), which the service setup links into /var/run/wireguard (`wg` follows
// links).
std::string default_socket_path(const std::string& interface_name);

// Listens on a UNIX stream socket created mode 0600; removes it when destroyed. Each
// connection may send several requests; responses are small and written at once. At most
// kMaxConnections clients and kMaxRequestBytes per request: past either the client is
// dropped. Not thread-safe (loop thread only).
class UapiSocket final : net::IoHandler {
 public:
  static constexpr size_t kMaxConnections = 16;
  static constexpr size_t kMaxRequestBytes = 1 << 20;

  // Fails with EADDRINUSE when another live process serves the path (a stale socket file
  // left by a dead one is replaced).
  static Expected<std::unique_ptr<UapiSocket>> open(const std::string& path, net::EventLoop& loop,
                                                    UapiHandler& handler);
  ~UapiSocket();
  UapiSocket(const UapiSocket&) = delete;
  UapiSocket& operator=(const UapiSocket&) = delete;

  const std::string& path() const noexcept { return path_; }

 private:
  UapiSocket(std::string path, int fd, net::EventLoop& loop, UapiHandler& handler);
  void on_io(int fd, uint32_t revents) noexcept override;
  void accept_clients() noexcept;
  void serve(int fd) noexcept;
  void close_client(int fd) noexcept;

  std::string path_;
  int listen_fd_;
  net::EventLoop& loop_;
  UapiHandler& handler_;
  std::unordered_map<int, std::string> clients_;  // fd -> bytes of the request so far
};

}  // namespace slirpvpn::control
