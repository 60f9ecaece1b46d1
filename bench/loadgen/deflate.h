// permessage-deflate (RFC 7692) for the load generator: reading the server's answer to our offer
// (§7.1) and one compressor plus one decompressor per connection over zlib-ng's native API.
#pragma once

#include <zlib-ng.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sockudo::loadgen {

// What the server's Sec-WebSocket-Extensions answer settled (RFC 7692 §7.1.1, §7.1.2).
struct DeflateParams {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  int server_max_window_bits = 15;
  int client_max_window_bits = 15;
};

// The offer every --deflate client sends (§7.1.2.2: client_max_window_bits without a value says
// "you may limit my window").
inline constexpr std::string_view kDeflateOffer = "permessage-deflate; client_max_window_bits";

// Parses the response header value. We offered exactly one extension, so the answer must be that
// one element with known, non-repeated parameters (§7.1: otherwise the client fails the
// connection). Returns false with `error` set when the answer is not acceptable.
bool parse_deflate_answer(std::string_view value, DeflateParams& out, std::string& error);

class DeflateCodec {
 public:
  // Throws std::runtime_error when zlib-ng cannot be initialised.
  explicit DeflateCodec(const DeflateParams& params);
  ~DeflateCodec();
  DeflateCodec(const DeflateCodec&) = delete;
  DeflateCodec& operator=(const DeflateCodec&) = delete;

  // Compresses one whole message and appends it to `out` without the final 00 00 ff ff
  // (§7.2.1). With client_no_context_takeover the compressor is reset afterwards, so the same
  // input always produces the same bytes (outgoing_reusable()).
  void compress(const uint8_t* data, size_t len, std::vector<uint8_t>& out);
  bool outgoing_reusable() const { return params_.client_no_context_takeover; }

  // Inflates the next piece of a compressed message, appending to `out`; false on corrupt data.
  bool inflate(const uint8_t* data, size_t len, std::vector<uint8_t>& out, std::string& error);
  // The message is complete: feed the 00 00 ff ff tail back (§7.2.2) and, with
  // server_no_context_takeover, start the next message from an empty window.
  bool finish_message(std::vector<uint8_t>& out, std::string& error);

 private:
  DeflateParams params_;
  zng_stream def_{};
  zng_stream inf_{};
  bool inflate_ended_ = false;  // a BFINAL block ended the stream: ignore input until reset
};

}  // namespace sockudo::loadgen
