// permessage-deflate parameter negotiation (RFC 7692 §7.1): the server picks the first acceptable
// offer and answers it; the client checks that answer against its offer. Both produce the
// DeflateAgreement the compression code is configured from. The grammar itself is parsed by
// extension_header.h; this file gives the four parameters their meaning.
//
// Window bits 8 (for the future deflate code): 8 is a legal value on both sides (§7.1.2), and
// Autobahn 13.3/13.5/13.7 negotiate it. zlib (and zlib-ng) cannot run a raw deflater with
// windowBits 8 (deflateInit2 turns it into 9 or refuses it). Decision: we announce and agree to 8,
// and a deflater whose agreed window is 8 is created with windowBits 9. That stays within the
// agreement because zlib's deflate never emits a match distance beyond
// MAX_DIST = window_size - MIN_LOOKAHEAD = 512 - 262 = 250 bytes, inside the 256-byte window the
// peer was promised. Inflaters may use the agreed value (zlib's inflateInit2 accepts -8) or
// anything larger: a bigger inflate window only costs memory, never correctness.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/protocol/extension_header.h"

namespace sockudo::protocol {

inline constexpr std::string_view kPermessageDeflate = "permessage-deflate";

constexpr uint8_t kMinWindowBits = 8;
constexpr uint8_t kMaxWindowBits = 15;

// The parameters of one permessage-deflate element (offer or response) as written.
struct DeflateParams {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  uint8_t server_max_window_bits = 0;  // 0: absent, else 8..15
  bool client_max_window_bits_present = false;
  uint8_t client_max_window_bits = 0;  // 0: absent or present without a value, else 8..15
};

enum class DeflateElement : uint8_t { Offer, Response };

// RFC 7692 §7: an element is invalid when it has an unknown parameter, a parameter twice, or an
// invalid value: no value where one is required (server_max_window_bits; client_max_window_bits
// in a response), a value on a flag, or window bits that are not "8".."15" without leading zeros
// (§7.1.2.1, §7.1.2.2). A server declines such an offer; a client fails on such a response.
// Returns "" when valid, else a fixed description.
const char* parse_deflate_params(const Extension& element, DeflateElement kind, DeflateParams& out);

// What both endpoints use once negotiated, named from the RFC's point of view: "server_*" governs
// the server's compressor and the client's decompressor, "client_*" the reverse.
struct DeflateAgreement {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  uint8_t server_max_window_bits = kMaxWindowBits;
  uint8_t client_max_window_bits = kMaxWindowBits;
};

inline bool operator==(const DeflateAgreement& a, const DeflateAgreement& b) {
  return a.server_no_context_takeover == b.server_no_context_takeover &&
         a.client_no_context_takeover == b.client_no_context_takeover &&
         a.server_max_window_bits == b.server_max_window_bits &&
         a.client_max_window_bits == b.client_max_window_bits;
}

// ---- server side ----------------------------------------------------------------------------

struct DeflateServerConfig {
  bool enabled = false;
  bool server_no_context_takeover = false;  // reset our compressor after every message
  bool client_no_context_takeover = false;  // require the client to reset its compressor
  uint8_t server_max_window_bits = kMaxWindowBits;  // our compressor's largest window
  uint8_t client_max_window_bits = kMaxWindowBits;  // largest window we let the client use
};

// Window bits within 8..15. An invalid configuration never negotiates (fail closed); the binding
// reports it to the user as a RangeError when the server is created.
bool is_valid_config(const DeflateServerConfig& config);

struct DeflateNegotiation {
  bool accepted = false;
  DeflateAgreement agreed;
  std::string response;  // the Sec-WebSocket-Extensions value to send when accepted
};

// Goes through `offers` (every extension the client offered, in order) and accepts the first
// permessage-deflate offer that is valid and that the configuration can satisfy. Other extension
// names are ignored (declined). Nothing is accepted when the config is disabled or invalid.
DeflateNegotiation negotiate_deflate(const DeflateServerConfig& config,
                                     std::span<const Extension> offers);

// ---- client side ----------------------------------------------------------------------------

struct DeflateOffer {
  // Ask the server to reset its compressor after every message; a response without it fails.
  bool server_no_context_takeover = false;
  // Announce that we reset our compressor after every message.
  bool client_no_context_takeover = false;
  // Ask the server to use at most this window (8..15); 0 = do not ask.
  uint8_t server_max_window_bits = 0;
  // Send client_max_window_bits, telling the server it may limit our window (§7.1.2.2)...
  bool client_max_window_bits = true;
  // ...optionally with the largest window we will use (8..15); 0 = no value.
  uint8_t client_max_window_bits_value = 0;
};

bool is_valid_offer(const DeflateOffer& offer);

// The offer as a Sec-WebSocket-Extensions element, e.g.
// "permessage-deflate; client_max_window_bits".
std::string format_deflate_offer(const DeflateOffer& offer);

// Checks the server's permessage-deflate response element against what we offered (RFC 7692 §7,
// §7.1.1.1, §7.1.2.1, §7.1.2.2) and fills `out`. Returns "" when acceptable, else a fixed
// description: the client must then fail the connection (WS_ERR_HANDSHAKE_BAD_EXTENSION).
const char* accept_deflate_response(const DeflateOffer& offer, const Extension& response,
                                    DeflateAgreement& out);

}  // namespace sockudo::protocol
