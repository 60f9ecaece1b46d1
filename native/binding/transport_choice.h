// Which I/O transport a server's or a client's connections run on: the `transport` option
// ('auto' | 'io_uring' | 'epoll'; lib/ applies SOCKUDO_WS_TRANSPORT and validates), decided once
// per server or client connection and readable from JS as { name, reason }.
#pragma once

#include <napi.h>

#include <string>

#include "transport/endpoint.h"
#include "transport/event_loop.h"

namespace sockudo::binding {

struct TransportChoice {
  bool io_uring = false;
  std::string reason;
  const char* name() const { return io_uring ? "io_uring" : "epoll"; }
  Napi::Object to_js(Napi::Env env) const;
};

// Reads o.transport; sets config.io_uring when io_uring was asked for and the loop has a ring.
// `epoll_only`: why this server cannot use io_uring (empty when it can).
TransportChoice choose_transport(transport::Loop& loop, const Napi::Object& o, transport::SocketConfig& config,
                                 const std::string& epoll_only = "");

}  // namespace sockudo::binding
