// SPDX-License-Identifier: MIT
// A small INI reader for the wg-quick format: sections, `Key = Value` lines and their line numbers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config_error.h"

namespace slirpvpn::config {

// One `Key = Value` line: key and value as written, spaces around them trimmed.
struct IniEntry {
  std::string key;
  std::string value;
  int line = 0;
};

// One `[Name]` header and the entries under it, in file order (repeated keys are all kept:
// whether a key may repeat is the schema's business, not the reader's).
struct IniSection {
  std::string name;
  int line = 0;
  std::vector<IniEntry> entries;
};

// The parsed file. Values may hold key material, so they are wiped when the document dies;
// for that reason it can be moved but not copied.
struct IniDocument {
  std::vector<IniSection> sections;

  IniDocument() = default;
  IniDocument(IniDocument&&) = default;
  IniDocument& operator=(IniDocument&&) = default;
  IniDocument(const IniDocument&) = delete;
  IniDocument& operator=(const IniDocument&) = delete;
  ~IniDocument();
};

// Rules, as wg-quick and `wg setconf` read these files:
// - `#` starts a comment, on its own line or after a value; blank lines are ignored;
// - `[Name]` opens a section (the name is letters and digits; case is the schema's concern);
// - `Key = Value` with spaces/tabs around key and value trimmed; the key is letters and digits;
//   the value may be empty; CR before LF is ignored;
// - a key before any section, a line that is neither, or a NUL byte is an error naming the line.
// Error messages never quote a value (it might be a private key).
ConfigExpected<IniDocument> parse_ini(std::string_view text, std::string_view file);

// ASCII case-insensitive equality, as wg-quick compares keys and section names.
bool equals_ignore_case(std::string_view a, std::string_view b) noexcept;

// Spaces and tabs removed from both ends.
std::string_view trim(std::string_view text) noexcept;

}  // namespace slirpvpn::config
