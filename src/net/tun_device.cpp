// SPDX-License-Identifier: MIT
// TunDevice: TUNSETIFF on /dev/net/tun, then plain non-blocking read(2)/write(2) per packet.
#include "net/tun_device.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "net/tun_offload.h"

namespace slirpvpn::net {

Expected<TunDevice> TunDevice::open(std::string_view name, const TunOptions& options) {
  if (name.size() >= IFNAMSIZ) {
    return fail("open TUN device", "name '" + std::string(name) + "' longer than 15 characters",
                EINVAL);
  }
  const int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    std::string context = "/dev/net/tun";
    if (error == ENOENT) context += " is missing: load the tun module (modprobe tun)";
    return fail("open", std::move(context), error);
  }
  TunDevice device(fd, std::string(name), options.offload);

  ifreq request{};
  std::memcpy(request.ifr_name, name.data(), name.size());
  request.ifr_flags = IFF_TUN | IFF_NO_PI;
  if (options.multi_queue) request.ifr_flags |= IFF_MULTI_QUEUE;
  if (options.offload) request.ifr_flags |= IFF_VNET_HDR;
  if (::ioctl(fd, TUNSETIFF, &request) != 0) {
    const int error = errno;
    std::string context = "TUN device '" + std::string(name) + "'";
    if (error == EPERM) {
      context += ": needs CAP_NET_ADMIN: run as root or `setcap cap_net_admin+ep` the binary";
    } else if (error == EBUSY) {
      context += ": already in use (or exists with other flags)";
    }
    return fail("ioctl(TUNSETIFF)", std::move(context), error);
  }
  device.name_ = request.ifr_name;  // the kernel's choice when `name` was empty or a pattern
  // Not persistent: the device goes away with us even if someone made it persistent before.
  if (::ioctl(fd, TUNSETPERSIST, 0) != 0) {
    return fail_errno("ioctl(TUNSETPERSIST, 0)", "TUN device '" + device.name_ + "'");
  }
  if (options.offload &&
      ::ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN) != 0) {
    return fail_errno("ioctl(TUNSETOFFLOAD)", "TUN device '" + device.name_ + "'");
  }
  return device;
}

TunDevice::TunDevice(TunDevice&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      name_(std::move(other.name_)),
      vnet_header_(other.vnet_header_) {}

TunDevice& TunDevice::operator=(TunDevice&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    name_ = std::move(other.name_);
    vnet_header_ = other.vnet_header_;
  }
  return *this;
}

TunDevice::~TunDevice() {
  if (fd_ >= 0) ::close(fd_);
}

Expected<size_t> TunDevice::read(std::span<uint8_t> buffer) noexcept {
  for (;;) {
    const ssize_t count = ::read(fd_, buffer.data(), buffer.size());
    if (count >= 0) return static_cast<size_t>(count);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return size_t{0};
    return fail_errno("read", "TUN device");
  }
}

Expected<bool> TunDevice::write(std::span<const uint8_t> packet) noexcept {
  if (!vnet_header_) {
    for (;;) {
      if (::write(fd_, packet.data(), packet.size()) >= 0) return true;
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
      return fail_errno("write", "TUN device");
    }
  }
  // With IFF_VNET_HDR every write starts with a header; all zero = no GSO, checksum complete.
  static constexpr uint8_t kEmptyHeader[kVirtioNetHeaderSize] = {};
  return write(std::span<const uint8_t, kVirtioNetHeaderSize>(kEmptyHeader), packet);
}

Expected<bool> TunDevice::write(std::span<const uint8_t, kVirtioNetHeaderSize> header,
                                std::span<const uint8_t> packet) noexcept {
  SLIRPVPN_ASSERT(vnet_header_);
  const iovec parts[2] = {{const_cast<uint8_t*>(header.data()), header.size()},
                          {const_cast<uint8_t*>(packet.data()), packet.size()}};
  for (;;) {
    if (::writev(fd_, parts, 2) >= 0) return true;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
    return fail_errno("write", "TUN device");
  }
}

Expected<size_t> TunDevice::read_batch(PacketBatch& batch, size_t max_packets) noexcept {
  SLIRPVPN_ASSERT(max_packets <= batch.slots());
  size_t count = 0;
  while (count < max_packets) {
    auto length = read(batch.buffer(count));
    if (!length) {
      if (count > 0) return count;  // report the error on the next call, keep what we have
      return tl::unexpected(std::move(length.error()));
    }
    if (*length == 0) break;
    batch.set_length(count, *length);
    ++count;
  }
  return count;
}

}  // namespace slirpvpn::net
