// SPDX-License-Identifier: MIT
// Line-by-line INI reading; no allocation beyond the resulting strings.
#include "config/ini.h"

#include <sodium.h>

#include <algorithm>

namespace slirpvpn::config {

namespace {

bool is_name_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_name(std::string_view text) noexcept {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_name_char);
}

void wipe(std::string& text) noexcept {
  if (!text.empty()) sodium_memzero(text.data(), text.size());
}

}  // namespace

IniDocument::~IniDocument() {
  for (auto& section : sections) {
    for (auto& entry : section.entries) wipe(entry.value);
  }
}

bool equals_ignore_case(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view text) noexcept {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

ConfigExpected<IniDocument> parse_ini(std::string_view text, std::string_view file) {
  IniDocument document;
  int line_number = 0;
  size_t position = 0;
  while (position < text.size()) {
    ++line_number;
    const size_t end = std::min(text.find('\n', position), text.size());
    std::string_view line = text.substr(position, end - position);
    position = end + 1;
    if (line.find('\0') != std::string_view::npos) {
      return config_fail(std::string(file), line_number, "line contains a NUL byte");
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (const auto hash = line.find('#'); hash != std::string_view::npos)
      line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) continue;

    if (line.front() == '[') {
      if (line.back() != ']') {
        return config_fail(std::string(file), line_number, "section header is missing ']'");
      }
      const auto name = trim(line.substr(1, line.size() - 2));
      if (!is_name(name)) {
        return config_fail(std::string(file), line_number,
                           "section name must be letters and digits, as in [Interface] or [Peer]");
      }
      document.sections.push_back(IniSection{std::string(name), line_number, {}});
      continue;
    }

    const auto equals = line.find('=');
    if (equals == std::string_view::npos) {
      return config_fail(std::string(file), line_number,
                         "expected 'Key = Value' or a '[Section]' header");
    }
    const auto key = trim(line.substr(0, equals));
    if (!is_name(key)) {
      return config_fail(
          std::string(file), line_number,
          key.empty() ? "missing key name before '='" : "key name must be letters and digits");
    }
    if (document.sections.empty()) {
      return config_fail(std::string(file), line_number,
                         "'" + std::string(key) + "' is outside any section");
    }
    document.sections.back().entries.push_back(
        IniEntry{std::string(key), std::string(trim(line.substr(equals + 1))), line_number});
  }
  return document;
}

}  // namespace slirpvpn::config
