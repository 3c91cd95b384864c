// SPDX-License-Identifier: MIT
// libqrencode's module matrix rendered as text or as a PNG through libpng.
#include "cli/qr.h"

#include <png.h>
#include <qrencode.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <vector>

namespace slirpvpn::cli {
namespace {

struct QrDeleter {
  void operator()(QRcode* code) const { QRcode_free(code); }
};
using QrPointer = std::unique_ptr<QRcode, QrDeleter>;

// Level L holds the most data: a configuration with two keys needs version 9 or so. The text is
// 8-bit data (keys are base64, names may be UTF-8).
Expected<QrPointer> encode(std::string_view text) {
  const std::string copy(text);
  QrPointer code(QRcode_encodeData(
      int(copy.size()), reinterpret_cast<const unsigned char*>(copy.data()), 0, QR_ECLEVEL_L));
  if (!code) return fail_errno("qrencode", "the configuration does not fit a QR code");
  return code;
}

bool dark(const QRcode& code, int x, int y) {
  if (x < 0 || y < 0 || x >= code.width || y >= code.width) return false;
  return (code.data[y * code.width + x] & 1) != 0;
}

}  // namespace

Expected<std::string> qr_terminal(std::string_view text) {
  auto code = encode(text);
  if (!code) return tl::unexpected(code.error());
  constexpr int kQuiet = 2;
  const int width = (*code)->width;
  std::string out;
  for (int y = -kQuiet; y < width + kQuiet; y += 2) {
    for (int x = -kQuiet; x < width + kQuiet; ++x) {
      const bool top_light = !dark(**code, x, y);
      const bool bottom_light = y + 1 < width + kQuiet && !dark(**code, x, y + 1);
      if (top_light && bottom_light) {
        out += "\u2588";
      } else if (top_light) {
        out += "\u2580";
      } else if (bottom_light) {
        out += "\u2584";
      } else {
        out += ' ';
      }
    }
    out += '\n';
  }
  return out;
}

Expected<void> qr_png(std::string_view text, const std::string& path, int scale) {
  auto code = encode(text);
  if (!code) return tl::unexpected(code.error());
  constexpr int kQuiet = 4;
  const int modules = (*code)->width + 2 * kQuiet;
  const int pixels = modules * scale;
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) return fail_errno("open", path);
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info) {
    png_destroy_write_struct(&png, &info);
    std::fclose(file);
    return fail("libpng", "cannot create a writer");
  }
  std::vector<png_byte> row(size_t(pixels), 0xff);
  // libpng reports errors by longjmp; nothing with a destructor is created past this point.
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    std::fclose(file);
    return fail("libpng", "cannot write " + path);
  }
  png_init_io(png, file);
  png_set_IHDR(png, info, png_uint_32(pixels), png_uint_32(pixels), 8, PNG_COLOR_TYPE_GRAY,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < pixels; ++y) {
    for (int x = 0; x < pixels; ++x) {
      row[size_t(x)] = dark(**code, x / scale - kQuiet, y / scale - kQuiet) ? 0x00 : 0xff;
    }
    png_write_row(png, row.data());
  }
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  if (std::fclose(file) != 0) return fail_errno("close", path);
  return {};
}

}  // namespace slirpvpn::cli
