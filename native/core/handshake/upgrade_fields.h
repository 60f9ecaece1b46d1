// What both WebSocket bootstraps read from a request's header fields: the HTTP/1.1 Upgrade
// (RFC 6455 §4.2.1, server_upgrade.h) and extended CONNECT on HTTP/2 and HTTP/3 (RFC 8441 §5,
// RFC 9220 §3, extended_connect.h). Gathered in one pass; the checks common to both live here.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "core/handshake/header_list.h"
#include "core/handshake/server_upgrade.h"

namespace sockudo::handshake {

struct UpgradeFields {
  size_t host_count = 0, key_count = 0, accept_count = 0, version_count = 0, origin_count = 0;
  std::string_view host, key, version, origin;
  bool has_upgrade = false;         // any Upgrade field
  bool upgrade_websocket = false;   // Upgrade lists "websocket"
  bool has_connection = false;      // any Connection field
  bool connection_upgrade = false;  // Connection lists "upgrade"
  bool has_body = false;            // Transfer-Encoding, or Content-Length other than 0
  bool bad_protocol = false;
  const char* bad_extensions = nullptr;
};

// Fills `f` and, in `out`, the offered subprotocols and extensions.
void gather_upgrade_fields(const HeaderList& headers, UpgradeFields& f, UpgradeRequest& out);

// The checks on the offers and on Origin that both bootstraps make (RFC 6455 §4.1, §4.2.1 items
// 8 and 9, §9.1); nullptr when they pass, else the reason for a 400.
const char* check_offers(const UpgradeFields& f, const UpgradeRequest& out);

// The answer's own checks, whatever serializes it (RFC 6455 §4.2.2): the subprotocol is one the
// client offered; the extensions value is valid extension syntax.
BuildError check_answer(const UpgradeRequest& request, const AcceptOptions& options);

// Splits a request-target into path and query (RFC 9112 §3.2): origin-form "/p?q", or
// absolute-form "scheme://authority/p?q". False for other forms and for a fragment.
bool split_target(std::string_view target, std::string_view& path, std::string_view& query);

}  // namespace sockudo::handshake
