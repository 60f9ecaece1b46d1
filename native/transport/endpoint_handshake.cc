// The endpoint's opening handshake: how each kind of endpoint starts (an HTTP/2 stream's, a
// client stream's), the HTTP/1.1 upgrade phases (the server reading the request head, the client
// reading the response and a refusal's body), the hand-over of an HTTP/2 connection to its
// session, and the application's decision serialized per protocol (a 101 in the byte stream, or
// an extended CONNECT's HEADERS through the stream link). The rest of Endpoint: endpoint.cc.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "transport/endpoint.h"
#include "transport/event_loop.h"
#include "transport/external_link.h"
#include "transport/h2_session.h"

namespace sockudo::transport {

Endpoint* Endpoint::create_stream(Loop& loop, std::unique_ptr<Link> link, std::shared_ptr<const SocketConfig> config,
                                  ServerHandler* server, std::unique_ptr<handshake::ConnectRequest> request,
                                  const handshake::UpgradeRequest& upgrade, const SocketAddress& remote,
                                  bool announce) {
  ExternalLink* external = link->external() ? static_cast<ExternalLink*>(link.get()) : nullptr;
  auto* s = new Endpoint(loop, std::move(link), std::move(config));
  s->external_link_ = external;
  s->remote_ = remote;
  s->server_ = server;
  s->connect_ = std::move(request);
  s->request_ = std::make_unique<handshake::UpgradeRequest>(upgrade);
  s->phase_ = EndpointPhase::AwaitingDecision;
  if (s->config_->handshake_timeout_ms > 0) s->handshake_deadline_ = loop.now_ms() + s->config_->handshake_timeout_ms;
  server->on_socket_created(*s);
  s->update_poll();
  s->arm_timer();
  if (announce) s->announce();
  return s;
}

Endpoint* Endpoint::create_client_stream(Loop& loop, std::unique_ptr<Link> link, std::shared_ptr<const SocketConfig> config,
                                         std::unique_ptr<handshake::ClientHandshake> handshake, SocketHandler* handler,
                                         const SocketAddress& remote) {
  auto* s = new Endpoint(loop, std::move(link), std::move(config));
  s->handler_ = handler;
  s->client_ = std::move(handshake);
  s->phase_ = EndpointPhase::ClientHead;
  s->remote_ = remote;
  if (s->config_->handshake_timeout_ms > 0) s->handshake_deadline_ = loop.now_ms() + s->config_->handshake_timeout_ms;
  s->update_poll();
  s->arm_timer();
  return s;
}

// RFC 8441 §5: the response HEADERS of our extended CONNECT.
void Endpoint::on_link_response(int status, const handshake::HeaderList& fields) {
  if (phase_ != EndpointPhase::ClientHead || !client_) return;
  if (client_->receive_response(status, fields) == handshake::HeadState::Complete) {
    open_client();
    return;
  }
  if (status < 200 || status > 299) {
    // A refusal: its body (DATA until END_STREAM) is for the application.
    phase_ = EndpointPhase::ClientRejected;
    rejection_body_len_ = UINT64_MAX;
    return;
  }
  fail_client(client_->error_code(), client_->error_reason(), client_->status());
}

void Endpoint::announce() {
  if (phase_ == EndpointPhase::AwaitingDecision && connect_ && server_) server_->on_upgrade_request(*this, *connect_, *request_);
}

void Endpoint::process_server_head(uint8_t* data, size_t len) {
  // The connection's first bytes: ALPN chose HTTP/2 (RFC 9113 §3.2), or a cleartext client starts
  // with the HTTP/2 preface (prior knowledge, §3.3). An HTTP/2 session takes the link over.
  if (!head_started_ && config_->http2.enabled &&
      (link_->alpn() == "h2" || (config_->http2.cleartext && !link_->encrypted() && H2Session::is_preface_start(data, len)))) {
    return hand_over_to_http2(data, len);
  }
  head_started_ = true;
  const auto r = head_->feed(data, len);
  if (r.state == handshake::HeadState::NeedMore) return;
  if (!request_) request_ = std::make_unique<handshake::UpgradeRequest>();
  handshake::UpgradeVerdict verdict = handshake::validate_upgrade(*head_, *request_);
  if (verdict.kind == handshake::UpgradeKind::NotUpgrade && config_->http_handoff && link_->os_fd() >= 0) {
    // Plain HTTP for the application: the head as it arrived, then whatever followed it (a body's
    // start, pipelined requests), and the descriptor. Our copy of the fd is closed by destroy()
    // without a shutdown, so the connection lives on in the application's hands.
    std::vector<uint8_t> bytes;
    const std::string_view raw = head_->raw();
    bytes.reserve(raw.size() + (len - r.consumed));
    bytes.insert(bytes.end(), raw.begin(), raw.end());
    bytes.insert(bytes.end(), data + r.consumed, data + len);
    if (server_->on_http_request(*this, link_->os_fd(), bytes)) {
      destroy();
      return;
    }
  }
  if (verdict.kind != handshake::UpgradeKind::Valid) {
    std::string out;
    handshake::build_rejection(verdict, out);
    preopen().append_copy(reinterpret_cast<const uint8_t*>(out.data()), out.size());
    server_->on_handshake_rejected(*this, verdict.status);
    begin_draining();
    return;
  }
  // Bytes after the head (often the first frames) wait for the connection to open.
  held_.assign(data + r.consumed, data + len);
  phase_ = EndpointPhase::AwaitingDecision;
  update_poll();
  server_->on_upgrade_request(*this, *head_, *request_);
}

// This endpoint was only the first reader of the connection: the session becomes the link's
// reader, and this endpoint goes away without closing the link (its server forgets it).
void Endpoint::hand_over_to_http2(uint8_t* data, size_t len) {
  std::unique_ptr<Link> link = std::move(link_);
  link->send_in_place(false);  // the session's writes are copied (nothing of ours was sent yet)
  handles_open_--;  // the link is the session's now
  H2Session::create_server(loop_, std::move(link), config_, server_, remote_, data, len);
  destroy();
}

void Endpoint::process_client_head(const uint8_t* data, size_t len) {
  const auto r = client_->feed(data, len);
  if (r.state == handshake::HeadState::NeedMore) return;
  if (r.state == handshake::HeadState::Failed) {
    if (client_->status() == 0 || client_->status() == 101) {
      fail_client(client_->error_code(), client_->error_reason(), client_->status());
      return;
    }
    // A refusal (401, 403, 429...): what the server says in its body is for the application.
    phase_ = EndpointPhase::ClientRejected;
    rejection_body_len_ = UINT64_MAX;
    if (auto cl = handshake::find_field(client_->response_fields(), "content-length")) {
      uint64_t n = 0;
      bool digits = !cl->empty();
      for (char ch : *cl) {
        if (ch < '0' || ch > '9' || n > (UINT64_MAX - 9) / 10) {
          digits = false;
          break;
        }
        n = n * 10 + static_cast<uint64_t>(ch - '0');
      }
      if (digits) rejection_body_len_ = n;
    }
    take_rejection_body(data + r.consumed, len - r.consumed);
    return;
  }
  held_.assign(data + r.consumed, data + len);
  open_client();
}

// The server accepted (a valid 101, or a 2xx to an extended CONNECT): the WebSocket opens.
void Endpoint::open_client() {
  handshake_deadline_ = protocol::kNoDeadline;
  protocol_ = std::string(client_->subprotocol());
  if (auto ext = handshake::find_field(client_->response_fields(), "sec-websocket-extensions")) extensions_ = std::string(*ext);
  // The response was checked against our offer (RFC 7692 §7.1) by the handshake.
  const protocol::DeflateAgreement agreed = client_->deflate();
  open_engine(protocol::Role::Client, client_->deflate_accepted() ? &agreed : nullptr);
  update_poll();
  arm_timer();
  handler_->on_client_open();
}

void Endpoint::take_rejection_body(const uint8_t* data, size_t len) {
  const uint64_t want = std::min<uint64_t>(rejection_body_len_, kMaxRejectionBody);
  const uint64_t room = want - std::min<uint64_t>(want, rejection_body_.size());
  rejection_body_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(std::min<uint64_t>(len, room)));
  if (rejection_body_.size() >= want) finish_rejection();
}

void Endpoint::finish_rejection() {
  if (phase_ != EndpointPhase::ClientRejected) return;
  fail_client(client_->error_code(), client_->error_reason(), client_->status());
}

// --- handshake decision -----------------------------------------------------------------------

void Endpoint::open_engine(protocol::Role role, const protocol::DeflateAgreement* deflate) {
  protocol::ConnectionConfig cc = config_->connection;
  cc.role = role;
  cc.mask_keys = &loop_.mask_keys();
  cc.kernel = loop_.mask_kernel();
  cc.inflate_budget = kInflateBudgetPerTurn;
  // A stream of an HTTP/2 or HTTP/3 connection has no TCP close to wait for (RFC 8441 §5).
  if (link_->frames_answer()) cc.client_waits_for_server_close = false;
  if (deflate != nullptr) {
    deflate_ = std::make_unique<protocol::PerMessageDeflate>(role, *deflate, config_->deflate, loop_.deflate());
    cc.rsv1_allowed = true;
    cc.transform = deflate_.get();
    cc.compressor = deflate_.get();
  }
  engine_ = std::make_unique<protocol::Connection>(cc, loop_.now_ms());
  // A stream's session frames our bytes later, in place: they stay ours until it acknowledges.
  if (link_->releases_on_ack()) engine_->output().set_release_on_ack(true);
  client_.reset();
  // A client's request has left by now: free the handshake queue's chunk instead of keeping it
  // for a reuse that never comes. (A server's 101 goes through the engine's own queue.)
  if (preopen_output_ && preopen_output_->empty() && preopen_output_->unacknowledged() == 0) preopen_output_.reset();
  phase_ = EndpointPhase::Open;
}

handshake::BuildError Endpoint::accept(SocketHandler* handler, const handshake::AcceptOptions& options) {
  if (phase_ != EndpointPhase::AwaitingDecision) return handshake::BuildError::None;
  // RFC 7692 §5: answer the first acceptable permessage-deflate offer; decline the rest.
  handshake::AcceptOptions answer = options;
  protocol::DeflateNegotiation deflate;
  if (config_->deflate_server.enabled && answer.extensions.empty()) {
    deflate = protocol::negotiate_deflate(config_->deflate_server, request_->extensions);
    if (deflate.accepted) answer.extensions = deflate.response;
  }
  // RFC 7838 §3: a server that also speaks HTTP/3 says so on its TCP answers (RFC 9114 §3.1.1).
  std::vector<handshake::HeaderField> extra;
  if (!config_->http3.alt_svc.empty() && http_version() != 3) {
    bool given = false;
    for (const auto& h : options.headers) given = given || handshake::iequals(h.name, "alt-svc");
    if (!given) {
      extra.assign(options.headers.begin(), options.headers.end());
      extra.push_back({"alt-svc", config_->http3.alt_svc});
      answer.headers = extra;
    }
  }
  std::string out;
  std::vector<handshake::OwnedField> fields;
  const auto err = link_->frames_answer() ? handshake::build_accept_fields(*request_, answer, fields)
                                          : handshake::build_accept_response(*request_, answer, out);
  if (err != handshake::BuildError::None) return err;
  set_handler(handler);
  handshake_deadline_ = protocol::kNoDeadline;
  protocol_ = std::string(answer.subprotocol);
  extensions_ = std::string(answer.extensions);
  open_engine(protocol::Role::Server, deflate.accepted ? &deflate.agreed : nullptr);
  if (link_->frames_answer()) {
    link_->answer(fields, "", false);  // RFC 8441 §5: a 2xx opens the WebSocket on this stream
  } else {
    engine_->output().append_copy(reinterpret_cast<const uint8_t*>(out.data()), out.size());
    response_end_ = engine_->output().appended_total();
  }
  head_.reset();  // request_ views die with them: free it too (an open connection keeps no handshake state)
  connect_.reset();
  request_.reset();
  mark_dirty();
  arm_timer();
  if (server_) server_->on_handshake_decided(*this);
  return handshake::BuildError::None;
}

handshake::BuildError Endpoint::reject(int status, std::string_view body, std::span<const handshake::HeaderField> headers) {
  if (phase_ != EndpointPhase::AwaitingDecision) return handshake::BuildError::None;
  if (link_->frames_answer()) {
    if (server_) server_->on_handshake_decided(*this);
    return answer_stream(status, body, headers);
  }
  std::string out;
  auto err = handshake::build_error_response(status, body, headers, out);
  if (err != handshake::BuildError::None) {
    out.clear();
    handshake::build_error_response(500, "", {}, out);
  }
  preopen().append_copy(reinterpret_cast<const uint8_t*>(out.data()), out.size());
  begin_draining();
  if (server_) server_->on_handshake_decided(*this);
  return err;
}

// A stream's refusal: the session frames it (HEADERS, the body in DATA, END_STREAM) and finishes
// the stream after it; this endpoint is done at once.
handshake::BuildError Endpoint::answer_stream(int status, std::string_view body,
                                             std::span<const handshake::HeaderField> headers) {
  std::vector<handshake::OwnedField> fields;
  auto err = handshake::build_error_fields(status, body, headers, false, fields);
  if (err != handshake::BuildError::None) {
    fields.clear();
    handshake::build_error_fields(500, "", {}, false, fields);
    body = {};
  }
  link_->answer(fields, body, true);
  destroy();
  return err;
}

void Endpoint::fail_client(std::string code, std::string message, int status) {
  ClientFailure f{std::move(code), std::move(message), status, {}, std::move(rejection_body_)};
  if (client_ && status != 0) {
    const auto& head = client_->response_fields();
    for (size_t i = 0; i < head.header_count(); i++) {
      f.raw_head.append(head.header_name(i)).append(": ").append(head.header_value(i)).append("\r\n");
    }
  }
  if (handler_) handler_->on_client_failed(f);  // the connection never opened: no on_close
  destroy();
}

}  // namespace sockudo::transport
