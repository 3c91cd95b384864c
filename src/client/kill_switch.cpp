// SPDX-License-Identifier: MIT
// The kill switch's nft script and libnftables calls (see kill_switch.h).
#include "client/kill_switch.h"

#include <nftables/libnftables.h>

#include <cstdio>
#include <memory>

namespace slirpvpn::client {

std::string kill_switch_table_name(std::string_view interface) {
  std::string name = "slirpvpn_";
  for (const char c : interface) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    name += keep ? c : '_';
  }
  return name;
}

std::string render_kill_switch(const KillSwitchSpec& spec) {
  const std::string family = spec.endpoint.address.is_v4() ? "ip" : "ip6";
  std::string endpoint_rule = family + " daddr " + spec.endpoint.address.to_string() +
                              " udp dport " + std::to_string(spec.endpoint.port);
  if (spec.fwmark) {
    char mark[16];
    std::snprintf(mark, sizeof mark, "0x%08x", *spec.fwmark);
    endpoint_rule = std::string("meta mark ") + mark + " " + endpoint_rule;
  }
  const std::string& t = spec.table;
  std::string script;
  script += "table inet " + t + "\n";
  script += "delete table inet " + t + "\n";
  script += "table inet " + t + " {\n";
  script += "  chain output {\n";
  script += "    type filter hook output priority filter; policy drop;\n";
  script += "    oifname \"lo\" accept\n";
  script += "    oifname \"" + spec.interface + "\" accept\n";
  script += "    " + endpoint_rule + " accept\n";
  // Neighbour discovery and router solicitation keep the uplink's IPv6 alive (RFC 4861).
  script +=
      "    icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } "
      "ip6 hoplimit 255 accept\n";
  // DHCP and DHCPv6 clients renew the uplink's address.
  script += "    udp sport 68 udp dport 67 accept\n";
  script += "    udp sport 546 udp dport 547 accept\n";
  script += "    counter reject with icmpx type admin-prohibited\n";
  script += "  }\n";
  script += "  chain forward {\n";
  script += "    type filter hook forward priority filter; policy drop;\n";
  script += "    oifname \"" + spec.interface + "\" accept\n";
  script += "    counter reject with icmpx type admin-prohibited\n";
  script += "  }\n";
  script += "}\n";
  return script;
}

Expected<void> run_nft(std::string_view script) {
  std::unique_ptr<nft_ctx, decltype(&nft_ctx_free)> context(nft_ctx_new(NFT_CTX_DEFAULT),
                                                            &nft_ctx_free);
  if (!context) return fail("nft", "cannot create a libnftables context");
  nft_ctx_buffer_output(context.get());
  nft_ctx_buffer_error(context.get());
  const std::string text(script);
  if (nft_run_cmd_from_buffer(context.get(), text.c_str()) != 0) {
    std::string message = nft_ctx_get_error_buffer(context.get());
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return fail("nft", message.empty() ? std::string("command failed") : message);
  }
  return {};
}

Expected<void> apply_kill_switch(const KillSwitchSpec& spec) {
  return run_nft(render_kill_switch(spec));
}

Expected<void> remove_nft_table(std::string_view table) {
  const std::string name(table);
  // Declaring it first makes the delete succeed whether or not it existed.
  return run_nft("table inet " + name + "\ndelete table inet " + name + "\n");
}

bool nft_table_exists(std::string_view table) {
  return run_nft("list table inet " + std::string(table) + "\n").has_value();
}

}  // namespace slirpvpn::client
