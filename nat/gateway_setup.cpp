#include "nat/gateway_setup.h"

#include <nlohmann/json.hpp>

#include "common/json_reader.h"
#include "nat/nft_runner.h"

namespace wardgate::nat {
namespace {

constexpr std::size_t kMaxInterfaceName = 15;  // IFNAMSIZ - 1

std::string set_name(const std::string& table) { return "inet " + table + " bypass"; }

std::string bypass_element(const std::string& interface, const std::string& timeout,
                           const std::string& reason) {
  return "{ \"" + interface + "\" timeout " + timeout + " comment \"" +
         sanitize_bypass_reason(reason) + "\" }";
}

}  // namespace

std::string install_gateway(const GatewayPlan& plan) {
  if (auto error = install_policy_route(plan.route); !error.empty()) return error;
  // An interception-only table of the same name would divert traffic around the gateway's checks.
  std::string script = "add table ip " + plan.table + "\ndelete table ip " + plan.table + "\n" +
                       render_gateway_script(plan);
  // A running bypass outlives the restart with its remaining time: it was started (and audited)
  // for a duration, and ends by itself.
  for (const auto& b : list_bypass(plan.table).entries) {
    if (b.expires_in_seconds <= 0 || !common::valid_name(b.interface, kMaxInterfaceName)) continue;
    script += "add element " + set_name(plan.table) + " " +
              bypass_element(b.interface, std::to_string(b.expires_in_seconds) + "s", b.reason) +
              "\n";
  }
  const NftResult nft = run_nft_script(script);
  if (!nft.ok) return "cannot install nftables table 'inet " + plan.table + "': " + nft.error;
  return {};
}

std::string remove_gateway(const std::string& table, const PolicyRoute& route) {
  std::string error;
  const NftResult nft = run_nft_script(render_gateway_remove_script(table));
  if (!nft.ok) error = "cannot remove nftables table 'inet " + table + "': " + nft.error;
  if (auto e = remove_policy_route(route); !e.empty()) error += (error.empty() ? "" : "; ") + e;
  return error;
}

std::string sanitize_bypass_reason(std::string_view reason) {
  std::string out;
  for (const char c : reason.substr(0, kMaxBypassReason)) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"') {
      out += '\'';
    } else if (c == '\\') {
      out += '/';
    } else {
      out += u >= 0x20 && u < 0x7f ? c : '?';
    }
  }
  return out;
}

std::string add_bypass(const std::string& table, const std::string& interface, std::int64_t minutes,
                       const std::string& reason) {
  if (!common::valid_name(interface, kMaxInterfaceName)) {
    return "bypass: not an interface name: \"" + sanitize_bypass_reason(interface) + "\"";
  }
  if (minutes < 1 || minutes > kMaxBypassMinutes) {
    return "bypass: minutes must be 1 to " + std::to_string(kMaxBypassMinutes);
  }
  const std::string why = sanitize_bypass_reason(reason);
  if (why.find_first_not_of(' ') == std::string::npos) return "bypass: a reason is required";
  const std::string element = "{ \"" + interface + "\" }";
  // add (a no-op if present), delete, add: one transaction that replaces a running bypass.
  const std::string script = "add element " + set_name(table) + " " + element + "\n" +
                             "delete element " + set_name(table) + " " + element + "\n" +
                             "add element " + set_name(table) + " " +
                             bypass_element(interface, std::to_string(minutes) + "m", why) + "\n";
  const NftResult nft = run_nft_script(script);
  if (!nft.ok) return "cannot start the bypass on " + interface + ": " + nft.error;
  return {};
}

std::string end_bypass(const std::string& table) {
  const NftResult nft = run_nft_script("flush set " + set_name(table) + "\n");
  if (!nft.ok) return "cannot end the bypass: " + nft.error;
  return {};
}

BypassList list_bypass(const std::string& table) {
  const NftResult nft = run_nft_json("list set " + set_name(table) + "\n");
  if (!nft.ok) return {{}, "cannot list the bypass: " + nft.error};
  return parse_bypass_listing(nft.output);
}

BypassList parse_bypass_listing(std::string_view text) {
  const auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("nftables") || !doc["nftables"].is_array()) {
    return {{}, "unexpected nft listing"};
  }
  const auto* items = &doc["nftables"];
  BypassList out;
  for (const auto& item : *items) {
    if (!item.is_object() || !item.contains("set") || !item["set"].is_object()) continue;
    const auto& set = item["set"];
    if (!set.contains("elem") || !set["elem"].is_array()) continue;
    for (const auto& e : set["elem"]) {
      BypassEntry entry;
      // An element with attributes is {"elem": {"val": ..., "expires": ..., "comment": ...}}.
      const auto& attrs = e.is_object() && e.contains("elem") ? e["elem"] : e;
      const auto& value = attrs.is_object() && attrs.contains("val") ? attrs["val"] : attrs;
      if (!value.is_string()) return {{}, "unexpected element in the bypass set"};
      entry.interface = value.get<std::string>();
      if (attrs.is_object()) {
        if (attrs.contains("expires") && attrs["expires"].is_number_integer()) {
          entry.expires_in_seconds = attrs["expires"].get<std::int64_t>();
        }
        if (attrs.contains("comment") && attrs["comment"].is_string()) {
          entry.reason = attrs["comment"].get<std::string>();
        }
      }
      out.entries.push_back(std::move(entry));
    }
  }
  return out;
}

}  // namespace wardgate::nat
