// SPDX-License-Identifier: MIT
// Section validation and lookups over the INI reader's entries.
#include "config/section.h"

#include <string>

#include "config/keys.h"

namespace slirpvpn::config {

namespace {

// wg-quick runs these as shell commands; slirpvpn runs no shell on the user's behalf.
constexpr std::string_view kUnsupportedWgQuickKeys[] = {"PreUp", "PostUp", "PreDown", "PostDown",
                                                        "SaveConfig"};

}  // namespace

ConfigExpected<void> check_section(const IniSection& section, std::span<const KeyRule> rules,
                                   std::string_view file) {
  for (size_t i = 0; i < section.entries.size(); ++i) {
    const IniEntry& entry = section.entries[i];
    const KeyRule* rule = nullptr;
    for (const auto& candidate : rules) {
      if (equals_ignore_case(candidate.name, entry.key)) rule = &candidate;
    }
    if (rule == nullptr) {
      for (auto unsupported : kUnsupportedWgQuickKeys) {
        if (equals_ignore_case(unsupported, entry.key)) {
          return config_fail(std::string(file), entry.line,
                             std::string(unsupported) +
                                 " is not supported by slirpvpn (it runs no hook commands; "
                                 "remove the line)");
        }
      }
      return config_fail(std::string(file), entry.line,
                         "unknown key " + quote(entry.key) + " in [" + section.name + "]");
    }
    if (rule->repeatable) continue;
    for (size_t j = 0; j < i; ++j) {
      if (equals_ignore_case(section.entries[j].key, entry.key)) {
        return config_fail(std::string(file), entry.line,
                           "duplicate key " + quote(rule->name) + " in [" + section.name +
                               "] (first at line " + std::to_string(section.entries[j].line) + ")");
      }
    }
  }
  return {};
}

const IniEntry* find_entry(const IniSection& section, std::string_view key) noexcept {
  for (const auto& entry : section.entries) {
    if (equals_ignore_case(entry.key, key)) return &entry;
  }
  return nullptr;
}

std::vector<const IniEntry*> find_entries(const IniSection& section, std::string_view key) {
  std::vector<const IniEntry*> entries;
  for (const auto& entry : section.entries) {
    if (equals_ignore_case(entry.key, key)) entries.push_back(&entry);
  }
  return entries;
}

tl::unexpected<ConfigError> entry_fail(std::string_view file, const IniEntry& entry,
                                       std::string_view key, std::string_view reason) {
  return config_fail(std::string(file), entry.line, std::string(key) + ": " + std::string(reason));
}

ConfigExpected<std::optional<crypto::SymmetricKey>> load_secret(const IniSection& section,
                                                                std::string_view inline_key,
                                                                std::string_view file_key,
                                                                std::string_view file) {
  const IniEntry* inline_entry = find_entry(section, inline_key);
  const IniEntry* file_entry = find_entry(section, file_key);
  if (inline_entry != nullptr && file_entry != nullptr) {
    const IniEntry& later = inline_entry->line > file_entry->line ? *inline_entry : *file_entry;
    return entry_fail(
        file, later, &later == inline_entry ? inline_key : file_key,
        "give either " + std::string(inline_key) + " or " + std::string(file_key) + ", not both");
  }
  if (inline_entry != nullptr) {
    auto key = parse_secret_key(inline_entry->value);
    if (!key) return entry_fail(file, *inline_entry, inline_key, key.error());
    return std::optional<crypto::SymmetricKey>(std::move(*key));
  }
  if (file_entry != nullptr) {
    if (file_entry->value.empty())
      return entry_fail(file, *file_entry, file_key, "the value is empty");
    auto key = read_key_file(resolve_relative_to(file, file_entry->value));
    if (!key) return entry_fail(file, *file_entry, file_key, key.error());
    return std::optional<crypto::SymmetricKey>(std::move(*key));
  }
  return std::optional<crypto::SymmetricKey>();
}

}  // namespace slirpvpn::config
