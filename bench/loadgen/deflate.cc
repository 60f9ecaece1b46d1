// RFC 7692 negotiation answer parsing (§7.1) and the per-connection codec (§7.2) over zlib-ng.
#include "deflate.h"

#include <algorithm>
#include <stdexcept>

namespace sockudo::loadgen {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// §7.1.2.1/§7.1.2.2: a window-bits value is a decimal 8..15, possibly in quotes.
bool parse_bits(std::string_view v, int& out) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (v.empty() || v.size() > 2) return false;
  int n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  if (n < 8 || n > 15) return false;
  out = n;
  return true;
}

// Raw deflate output, bounded: the 00 00 ff ff tail of a sync flush is what we strip.
constexpr uint8_t kTail[4] = {0x00, 0x00, 0xff, 0xff};
constexpr size_t kInflateChunk = 16 * 1024;

}  // namespace

bool parse_deflate_answer(std::string_view value, DeflateParams& out, std::string& error) {
  out = DeflateParams{};
  if (value.find(',') != std::string_view::npos) {
    error = "server answered more than one extension";
    return false;
  }
  bool seen[4] = {};
  bool first = true;
  while (!value.empty()) {
    const size_t semi = value.find(';');
    std::string_view part = trim(value.substr(0, semi));
    value = semi == std::string_view::npos ? std::string_view{} : value.substr(semi + 1);
    if (first) {
      if (part != "permessage-deflate") {
        error = "server answered an extension we did not offer: " + std::string(part);
        return false;
      }
      first = false;
      continue;
    }
    const size_t eq = part.find('=');
    const std::string_view name = trim(part.substr(0, eq));
    const bool has_value = eq != std::string_view::npos;
    const std::string_view val = has_value ? trim(part.substr(eq + 1)) : std::string_view{};
    int index;
    if (name == "server_no_context_takeover" && !has_value) {
      index = 0;
      out.server_no_context_takeover = true;
    } else if (name == "client_no_context_takeover" && !has_value) {
      index = 1;
      out.client_no_context_takeover = true;
    } else if (name == "server_max_window_bits" && parse_bits(val, out.server_max_window_bits)) {
      index = 2;
    } else if (name == "client_max_window_bits" && parse_bits(val, out.client_max_window_bits)) {
      index = 3;  // §7.1.2.2: allowed in the answer because we offered it
    } else {
      error = "invalid permessage-deflate parameter in answer: " + std::string(part);
      return false;
    }
    if (seen[index]) {
      error = "repeated permessage-deflate parameter: " + std::string(name);
      return false;
    }
    seen[index] = true;
  }
  if (first) {
    error = "empty Sec-WebSocket-Extensions answer";
    return false;
  }
  // zlib cannot produce a raw deflate stream with a 256-byte window (it rounds 8 up to 9, which
  // could reference data the server's smaller window no longer has).
  if (out.client_max_window_bits == 8) {
    error = "server asked for client_max_window_bits=8, which zlib-ng cannot honour";
    return false;
  }
  return true;
}

DeflateCodec::DeflateCodec(const DeflateParams& params) : params_(params) {
  // Level 1 (fast) as a benchmark client should be; negative window bits = raw deflate.
  if (zng_deflateInit2(&def_, 1, Z_DEFLATED, -params.client_max_window_bits, 8,
                       Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("zng_deflateInit2 failed");
  }
  // Inflating with the largest window accepts any window the server used (§7.1.2.1).
  if (zng_inflateInit2(&inf_, -15) != Z_OK) {
    zng_deflateEnd(&def_);
    throw std::runtime_error("zng_inflateInit2 failed");
  }
}

DeflateCodec::~DeflateCodec() {
  zng_deflateEnd(&def_);
  zng_inflateEnd(&inf_);
}

void DeflateCodec::compress(const uint8_t* data, size_t len, std::vector<uint8_t>& out) {
  const size_t start = out.size();
  def_.next_in = data;
  def_.avail_in = static_cast<uint32_t>(len);
  size_t room = zng_deflateBound(&def_, len) + 16;
  for (;;) {
    const size_t used = out.size();
    out.resize(used + room);
    def_.next_out = out.data() + used;
    def_.avail_out = static_cast<uint32_t>(room);
    zng_deflate(&def_, Z_SYNC_FLUSH);  // Z_OK or Z_BUF_ERROR (nothing left to do): both fine
    out.resize(used + (room - def_.avail_out));
    if (def_.avail_out != 0 && def_.avail_in == 0) break;
    room = 4096;
  }
  // §7.2.1: remove the 4 octets 00 00 ff ff that end the sync flush.
  const size_t produced = out.size() - start;
  if (produced >= 4 && std::equal(kTail, kTail + 4, out.end() - 4)) out.resize(out.size() - 4);
  if (params_.client_no_context_takeover) zng_deflateReset(&def_);
}

bool DeflateCodec::inflate(const uint8_t* data, size_t len, std::vector<uint8_t>& out,
                           std::string& error) {
  if (inflate_ended_) return true;
  inf_.next_in = data;
  inf_.avail_in = static_cast<uint32_t>(len);
  for (;;) {  // until zlib stops with output room left: all input consumed
    const size_t used = out.size();
    out.resize(used + kInflateChunk);
    inf_.next_out = out.data() + used;
    inf_.avail_out = kInflateChunk;
    const int rc = zng_inflate(&inf_, Z_SYNC_FLUSH);
    out.resize(used + (kInflateChunk - inf_.avail_out));
    if (rc == Z_STREAM_END) {  // a BFINAL block: the rest of this message carries nothing
      inflate_ended_ = true;
      return true;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      error = std::string("inflate failed: ") + (inf_.msg ? inf_.msg : "corrupt data");
      return false;
    }
    if (inf_.avail_out != 0) break;
  }
  return true;
}

bool DeflateCodec::finish_message(std::vector<uint8_t>& out, std::string& error) {
  const bool ok = inflate(kTail, sizeof kTail, out, error);
  if (inflate_ended_ || params_.server_no_context_takeover) {
    zng_inflateReset(&inf_);
    inflate_ended_ = false;
  }
  return ok;
}

}  // namespace sockudo::loadgen
