// The endpoint's sending side: one data message through the backpressure policy (send,
// send_framed for a publish), control frames, and pub/sub membership. The rest of Endpoint:
// endpoint.cc.
#include <functional>
#include <string_view>
#include <vector>

#include "transport/endpoint.h"
#include "transport/event_loop.h"

namespace sockudo::transport {

// --- sending -----------------------------------------------------------------------------------

// One data message of `bytes` through the backpressure policy; `enqueue` hands it to the engine.
template <typename Enqueue>
SendResult Endpoint::queue_message(size_t bytes, Enqueue&& enqueue) {
  if (phase_ != EndpointPhase::Open || !engine_) return SendResult::NotOpen;
  // maxBackpressure bounds the backpressure buffer: bytes the kernel refused. Bytes merely
  // corked for this loop turn (a 101 not yet flushed, earlier sends of this callback) were never
  // offered to the kernel and do not count, so a healthy connection never drops a message.
  if (waiting_writable_ && buffered_amount() + bytes > config_->max_backpressure) {
    if (config_->close_on_backpressure_limit) terminate();
    return SendResult::Dropped;
  }
  const protocol::SendStatus st = enqueue();
  if (st == protocol::SendStatus::NotOpen) return SendResult::NotOpen;
  if (st != protocol::SendStatus::Ok) return SendResult::Invalid;
  if (!waiting_writable_ && engine_->output().bytes() >= link_->flush_threshold()) {
    write_now();
  } else {
    mark_dirty();
  }
  return waiting_writable_ ? SendResult::Backpressure : SendResult::Success;
}

SendResult Endpoint::send(protocol::Opcode opcode, std::span<const uint8_t> payload, std::unique_ptr<io::BufferOwner> owner,
                        bool compress, bool owner_can_move) {
  const uint64_t mark = engine_ ? engine_->output().appended_total() : 0;
  // A link that frames our bytes later, in place (an HTTP/2 stream), keeps pointing at them after
  // send() returns, when JS may move the memory: it gets a private copy from the start.
  if (owner_can_move && owner && link_ && link_->releases_on_ack() && phase_ == EndpointPhase::Open) {
    auto copy = std::make_unique<io::CopiedBytes>(payload.data(), payload.size());
    payload = {copy->mem.get(), payload.size()};
    owner = std::move(copy);  // the JS reference is let go here
    owner_can_move = false;
  }
  const SendResult r = queue_message(payload.size(), [&] {
    return engine_->send_message(opcode, payload, loop_.now_ms(), std::move(owner), compress);
  });
  // Usually a large payload has left by now (written at once); one that waits (backpressure, or
  // corked for this turn) must not depend on memory JS can take away.
  if (owner_can_move && engine_ && phase_ == EndpointPhase::Open) engine_->output().copy_borrowed_since(mark);
  return r;
}

SendResult Endpoint::send_framed(std::span<const uint8_t> frames, std::unique_ptr<io::BufferOwner> owner) {
  return queue_message(frames.size(), [&] { return engine_->send_framed(frames, std::move(owner), loop_.now_ms()); });
}

// --- pub/sub -----------------------------------------------------------------------------------

size_t Endpoint::subscribe(std::string_view topic, bool* changed) {
  if (!subscriber_) subscriber_ = std::make_unique<pubsub::Subscriber>(this);
  return loop_.topics().subscribe(*subscriber_, topic, changed);
}

size_t Endpoint::unsubscribe(std::string_view topic, bool* changed) {
  if (!subscriber_) {
    *changed = false;
    return loop_.topics().subscriber_count(topic);
  }
  return loop_.topics().unsubscribe(*subscriber_, topic, changed);
}

bool Endpoint::is_subscribed(std::string_view topic) const {
  return subscriber_ && loop_.topics().is_subscribed(*subscriber_, topic);
}

std::vector<std::string_view> Endpoint::topics() const {
  return subscriber_ ? loop_.topics().topics_of(*subscriber_) : std::vector<std::string_view>();
}

void Endpoint::unsubscribe_all(const std::function<void(std::string_view, size_t)>& on_left) {
  if (subscriber_) loop_.topics().remove_all(*subscriber_, on_left);
}

SendResult Endpoint::ping(std::span<const uint8_t> payload) {
  if (phase_ != EndpointPhase::Open || !engine_) return SendResult::NotOpen;
  const auto st = engine_->send_ping(payload, loop_.now_ms());
  if (st == protocol::SendStatus::NotOpen) return SendResult::NotOpen;
  if (st != protocol::SendStatus::Ok) return SendResult::Invalid;
  mark_dirty();
  return waiting_writable_ ? SendResult::Backpressure : SendResult::Success;
}

SendResult Endpoint::pong(std::span<const uint8_t> payload) {
  if (phase_ != EndpointPhase::Open || !engine_) return SendResult::NotOpen;
  const auto st = engine_->send_pong(payload, loop_.now_ms());
  if (st == protocol::SendStatus::NotOpen) return SendResult::NotOpen;
  if (st != protocol::SendStatus::Ok) return SendResult::Invalid;
  mark_dirty();
  return waiting_writable_ ? SendResult::Backpressure : SendResult::Success;
}

}  // namespace sockudo::transport
