// SPDX-License-Identifier: MIT
// Schema checks shared by the server and client files: known keys, repeats, keys and key files.
#pragma once

#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "config/config_error.h"
#include "config/ini.h"
#include "config/values.h"
#include "crypto/secret.h"

namespace slirpvpn::config {

// A key a section accepts; `repeatable` keys are lists whose lines accumulate.
struct KeyRule {
  std::string_view name;
  bool repeatable = false;
};

// Fails at the first entry that is not in `rules` ("unknown key 'Foo' in [Peer]"; wg-quick's
// PreUp/PostUp/PreDown/PostDown/SaveConfig get "... is not supported by slirpvpn"), or that
// repeats a single-valued key ("duplicate key 'MTU' (first at line 3)").
ConfigExpected<void> check_section(const IniSection& section, std::span<const KeyRule> rules,
                                   std::string_view file);

// The entry for `key` (case-insensitive), or nullptr. Pointers live as long as `section`.
const IniEntry* find_entry(const IniSection& section, std::string_view key) noexcept;
// Every entry for `key`, in file order.
std::vector<const IniEntry*> find_entries(const IniSection& section, std::string_view key);

// "Key: reason" at the entry's line; the key named as the schema spells it.
tl::unexpected<ConfigError> entry_fail(std::string_view file, const IniEntry& entry,
                                       std::string_view key, std::string_view reason);

// A secret given inline (`inline_key`, e.g. PrivateKey) or as a file (`file_key`, e.g.
// PrivateKeyFile, relative to the config file's directory); both at once is an error; neither
// is nullopt.
ConfigExpected<std::optional<crypto::SymmetricKey>> load_secret(const IniSection& section,
                                                                std::string_view inline_key,
                                                                std::string_view file_key,
                                                                std::string_view file);

// Parses the single entry for `key` with `parse` (a ValueResult<T>(std::string_view) function):
// nullopt when absent, the value, or "Key: reason" at the entry's line.
template <typename Parse>
auto parse_single(const IniSection& section, std::string_view key, std::string_view file,
                  Parse parse)
    -> ConfigExpected<std::optional<typename decltype(parse(std::string_view{}))::value_type>> {
  using T = typename decltype(parse(std::string_view{}))::value_type;
  const IniEntry* entry = find_entry(section, key);
  if (entry == nullptr) return std::optional<T>();
  auto value = parse(std::string_view(entry->value));
  if (!value) return entry_fail(file, *entry, key, value.error());
  return std::optional<T>(std::move(*value));
}

template <typename T>
struct Located {
  T value;
  int line = 0;
};

// Every comma-separated item of every `key` line, parsed with `parse`, with its line number;
// an empty list when the key is absent.
template <typename Parse>
auto parse_list(const IniSection& section, std::string_view key, std::string_view file, Parse parse)
    -> ConfigExpected<
        std::vector<Located<typename decltype(parse(std::string_view{}))::value_type>>> {
  using T = typename decltype(parse(std::string_view{}))::value_type;
  std::vector<Located<T>> values;
  for (const IniEntry* entry : find_entries(section, key)) {
    auto items = split_list(entry->value);
    if (!items) return entry_fail(file, *entry, key, items.error());
    for (auto item : *items) {
      auto value = parse(item);
      if (!value) return entry_fail(file, *entry, key, value.error());
      values.push_back(Located<T>{std::move(*value), entry->line});
    }
  }
  return values;
}

}  // namespace slirpvpn::config
