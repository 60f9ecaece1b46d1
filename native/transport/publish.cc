#include "transport/publish.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/protocol/frame_writer.h"
#include "transport/event_loop.h"
#include "transport/endpoint.h"

namespace sockudo::transport {

namespace {

// The frames of one wire form, shared by every socket that borrows them.
struct SharedFrames final : io::BufferOwner {
  explicit SharedFrames(std::shared_ptr<const std::vector<uint8_t>> b) : bytes(std::move(b)) {}
  std::shared_ptr<const std::vector<uint8_t>> bytes;
};

struct WireForm {
  bool compressed;
  protocol::DeflaterSettings settings;  // when compressed
  size_t max_frame;
  std::shared_ptr<const std::vector<uint8_t>> frames;
};

}  // namespace

PublishResult publish(Loop& loop, std::string_view topic, protocol::Opcode opcode, std::span<const uint8_t> payload,
                      bool compress, const Endpoint* exclude) {
  PublishResult result;
  // A send may close its socket (closeOnBackpressureLimit), which leaves the topic: walk a copy.
  std::vector<void*> targets;
  loop.topics().recipients(topic, exclude, targets);
  if (targets.empty()) return result;
  std::vector<WireForm> forms;
  for (void* user : targets) {
    auto* s = static_cast<Endpoint*>(user);
    if (!s->is_open()) continue;
    const protocol::PerMessageDeflate* pmd = s->deflate();
    const bool wants_deflate = compress && pmd != nullptr && payload.size() >= pmd->threshold();
    SendResult r;
    if (wants_deflate && !pmd->uses_shared_deflater()) {
      // Context takeover: only this connection's own compressor can encode it.
      r = s->send(opcode, payload, nullptr, true);
    } else {
      const bool compressed = wants_deflate;
      const size_t max_frame = static_cast<size_t>(std::min<uint64_t>(s->config().connection.max_frame_size, SIZE_MAX));
      const protocol::DeflaterSettings settings = compressed ? pmd->deflater_settings() : protocol::DeflaterSettings{};
      WireForm* form = nullptr;
      for (auto& f : forms) {
        if (f.compressed == compressed && f.max_frame == max_frame && (!compressed || f.settings == settings)) form = &f;
      }
      if (form == nullptr) {
        auto bytes = std::make_shared<std::vector<uint8_t>>();
        bool rsv1 = false;
        std::span<const uint8_t> body = payload;
        if (compressed) {
          protocol::DeflateContext& ctx = loop.deflate();
          protocol::RawDeflater* d = ctx.shared_deflater(settings);
          std::vector<uint8_t>& scratch = ctx.scratch();
          ctx.count_compression();
          // §7.2.1 with no context takeover: the message stands alone, so any connection agreed
          // to these settings can inflate it. Not smaller: send it plain (RSV1 clear).
          if (d != nullptr && d->compress(payload, scratch, true) && scratch.size() < payload.size()) {
            rsv1 = true;
            body = {scratch.data(), scratch.size()};
          }
        }
        protocol::encode_server_message(*bytes, opcode, rsv1, body, max_frame);
        forms.push_back({compressed, settings, max_frame, std::move(bytes)});
        form = &forms.back();
      }
      // Small frames are copied into the socket's cork chunk: cheaper than a reference.
      std::unique_ptr<io::BufferOwner> owner;
      if (form->frames->size() >= protocol::FrameWriter::kDefaultBorrowThreshold) owner = std::make_unique<SharedFrames>(form->frames);
      r = s->send_framed({form->frames->data(), form->frames->size()}, std::move(owner));
    }
    if (r == SendResult::Success || r == SendResult::Backpressure) result.recipients++;
    else if (r == SendResult::Dropped) result.dropped++;
  }
  return result;
}

}  // namespace sockudo::transport
