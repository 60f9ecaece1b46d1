// Settings of one WebSocket connection. Plain data: lib/ validates user options and the binding
// fills this in; config_error() is the last check before a Connection is built.
#pragma once

#include <cstdint>

#include "core/protocol/frame_parser.h"
#include "core/protocol/mask_key_pool.h"
#include "core/protocol/message_transform.h"
#include "core/protocol/role.h"
#include "core/simd/mask.h"

namespace sockudo::protocol {

struct ConnectionConfig {
  Role role = Role::Server;

  // --- limits (checked from frame headers, before payload is buffered) ---------------------
  uint64_t max_frame_size = kDefaultMaxFrameSize;
  uint64_t max_message_size = kDefaultMaxMessageSize;

  // --- extensions -----------------------------------------------------------------------------
  // RSV1 allowed on the first frame of a data message (permessage-deflate negotiated); such
  // messages are decoded by `transform`, which must then be set.
  bool rsv1_allowed = false;
  MessageTransform* transform = nullptr;  // not owned
  // Encodes outgoing messages sent with compress = true (permessage-deflate); null: never.
  MessageCompressor* compressor = nullptr;  // not owned
  // Output bytes the transform (inflate) may produce per receive() or resume() call; past that,
  // the engine suspends the input it has not parsed (suspended()) and the transport calls
  // resume() on a later loop turn. Bounds the CPU one connection's decompression takes per turn,
  // so a peer sending decompression bombs cannot stall everyone else. 0: no bound.
  uint64_t inflate_budget = 0;

  // --- machinery ------------------------------------------------------------------------------
  // Masking kernel chosen once by the caller; the default is the best this CPU supports.
  const simd::MaskKernel* kernel = simd::choose_mask_kernel(simd::detect_cpu_features(), "").kernel;
  // Masking keys; required for Role::Client (usually one pool per engine). Not owned.
  MaskKeyPool* mask_keys = nullptr;

  // --- keepalive and timeouts (milliseconds of the caller's clock) --------------------------
  bool auto_pong = true;   // answer pings (§5.5.2, §5.5.3)
  // Answer a peer's close with its code and reason, as `ws` does (§5.5.1 asks only for the code).
  bool echo_close_reason = false;
  bool auto_ping = true;   // ping when nothing was received for ping_interval_ms
  // Nothing received for this long fails the connection (1006 locally, transport closed). 0: off.
  uint64_t idle_timeout_ms = 120000;
  uint64_t ping_interval_ms = 30000;  // 0: no automatic pings
  // Our automatic ping unanswered (nothing at all received) for this long: the peer is dead.
  // 0: no pong deadline (idle_timeout_ms still applies).
  uint64_t pong_timeout_ms = 10000;
  // After we send a close frame, how long we wait for the peer's (§7.1.1 / §7.1.2); afterwards the
  // transport is closed anyway. For a client it is also how long we wait, once the handshake is
  // done, for the server to close TCP first (§7.1.1). 0: do not wait.
  uint64_t close_timeout_ms = 5000;
  // A client waits for the server to close the transport first (§7.1.1: TCP). On an HTTP/2 or
  // HTTP/3 stream each side ends its own direction once the closing handshake is done (RFC 8441
  // §5, RFC 9220 §3): false, and a client ends its direction at once.
  bool client_waits_for_server_close = true;
};

// Why `config` cannot be used, or nullptr when it can.
inline const char* config_error(const ConnectionConfig& config) {
  if (config.role == Role::Client && config.mask_keys == nullptr)
    return "a client connection needs mask_keys (RFC 6455 §5.3)";
  if (config.rsv1_allowed && config.transform == nullptr)
    return "rsv1_allowed needs a transform to decode RSV1 messages";
  if (config.max_frame_size == 0 || config.max_message_size == 0)
    return "max_frame_size and max_message_size must be positive";
  return nullptr;
}

}  // namespace sockudo::protocol
