// OutputQueue: slices in order, copies merged, borrowed owners released exactly when written,
// partial commits at every offset, bounded memory when drained.
#include <algorithm>
#include <string>
#include <vector>

#include "core/io/output_queue.h"
#include "harness.h"
#include "protocol_test_support.h"

using sockudo::io::BufferOwner;
using sockudo::io::OutputQueue;
using sockudo::io::Slice;
using testsupport::drain;
using testsupport::pending_bytes;

namespace {

struct Owner final : BufferOwner {
  Owner(int& alive, int id, std::vector<int>* released) : alive_(alive), id_(id), released_(released) {
    alive_++;
  }
  ~Owner() override {
    alive_--;
    if (released_) released_->push_back(id_);
  }
  int& alive_;
  int id_;
  std::vector<int>* released_;
};

std::vector<uint8_t> bytes(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; i++) v[i] = static_cast<uint8_t>(seed + i * 31);
  return v;
}

// A queue with every kind of piece: copies that merge, borrowed slices, a copy bigger than a chunk.
struct Fixture {
  std::vector<uint8_t> a = bytes(10, 1), b = bytes(100, 2), c = bytes(5, 3), d = bytes(7, 4),
                       e = bytes(5000, 5), f = bytes(3, 6);
  std::vector<uint8_t> expected;
  int alive = 0;
  std::vector<int> released;
  // Byte offsets at which each borrowed piece has been fully written.
  std::vector<std::pair<size_t, int>> borrowed_ends;

  void fill(OutputQueue& q) {
    auto add = [&](const std::vector<uint8_t>& v) { expected.insert(expected.end(), v.begin(), v.end()); };
    q.append_copy(a.data(), a.size());
    add(a);
    q.append_borrowed(b.data(), b.size(), std::make_unique<Owner>(alive, 1, &released));
    add(b);
    borrowed_ends.push_back({expected.size(), 1});
    q.append_copy(c.data(), c.size());
    add(c);
    q.append_borrowed(d.data(), d.size(), std::make_unique<Owner>(alive, 2, &released));
    add(d);
    borrowed_ends.push_back({expected.size(), 2});
    q.append_copy(e.data(), e.size());
    add(e);
    uint8_t* p = q.append_uninitialized(f.size());
    std::copy(f.begin(), f.end(), p);
    add(f);
  }
};

}  // namespace

TEST(slices_come_out_in_order) {
  Fixture fx;
  OutputQueue q;
  fx.fill(q);
  CHECK_EQ(q.bytes(), fx.expected.size());
  CHECK(pending_bytes(q) == fx.expected);
  // a | b | c (same chunk as a, but not adjacent in the stream) | d | e (a chunk of its own) | f.
  CHECK_EQ(q.slice_count(), size_t{6});
  Slice s[8];
  CHECK_EQ(q.gather(s, 2), size_t{2});
  CHECK(s[1].data == fx.b.data());  // borrowed, not copied
  CHECK_EQ(q.gather(s, 8), size_t{6});
  CHECK_EQ(q.appended_total(), uint64_t{fx.expected.size()});
}

TEST(small_copies_merge_into_one_slice) {
  OutputQueue q;
  for (int i = 0; i < 100; i++) {
    const uint8_t byte = static_cast<uint8_t>(i);
    q.append_copy(&byte, 1);
  }
  CHECK_EQ(q.slice_count(), size_t{1});
  CHECK_EQ(q.bytes(), size_t{100});
}

TEST(partial_commit_at_every_offset) {
  Fixture probe;
  OutputQueue sizing;  // declared after its fixture: owners outlive nothing they point to
  probe.fill(sizing);
  const size_t total = probe.expected.size();
  for (size_t k = 0; k <= total; k++) {
    Fixture fx;
    OutputQueue q;
    fx.fill(q);
    q.commit(k);
    REQUIRE_MSG(q.bytes() == total - k, std::to_string(k));
    const auto rest = pending_bytes(q);
    REQUIRE_MSG(rest == std::vector<uint8_t>(fx.expected.begin() + static_cast<long>(k), fx.expected.end()),
                std::to_string(k));
    int want_alive = 0;
    for (auto [end, id] : fx.borrowed_ends)
      if (k < end) want_alive++;
    REQUIRE_MSG(fx.alive == want_alive, std::to_string(k));
    CHECK_EQ(q.committed_total(), uint64_t{k});
    // Then the rest in a second write.
    q.commit(total - k);
    REQUIRE(q.empty());
    REQUIRE(fx.alive == 0);
    REQUIRE(fx.released == std::vector<int>({1, 2}));
  }
}

TEST(byte_at_a_time_commits) {
  Fixture fx;
  OutputQueue q;
  fx.fill(q);
  std::vector<uint8_t> written;
  while (!q.empty()) {
    Slice s[1];
    REQUIRE(q.gather(s, 1) == 1);
    written.push_back(s[0].data[0]);
    q.commit(1);
  }
  CHECK(written == fx.expected);
  CHECK_EQ(fx.alive, 0);
}

TEST(commit_never_runs_past_the_end) {
  OutputQueue q;
  const auto v = bytes(10, 0);
  q.append_copy(v.data(), v.size());
  q.commit(1000);
  CHECK(q.empty());
  CHECK_EQ(q.committed_total(), uint64_t{10});
  q.commit(5);
  CHECK(q.empty());
}

TEST(zero_length_pieces_queue_nothing) {
  int alive = 0;
  OutputQueue q;
  q.append_borrowed(nullptr, 0, std::make_unique<Owner>(alive, 0, nullptr));
  CHECK_EQ(alive, 0);
  q.append_copy(nullptr, 0);
  CHECK(q.append_uninitialized(0) == nullptr);
  CHECK(q.empty());
  CHECK_EQ(q.slice_count(), size_t{0});
}

TEST(clear_releases_everything) {
  Fixture fx;
  OutputQueue q;
  fx.fill(q);
  q.commit(3);
  q.clear();
  CHECK(q.empty());
  CHECK_EQ(fx.alive, 0);
  CHECK_EQ(q.chunk_bytes(), size_t{0});
  CHECK_EQ(q.committed_total(), q.appended_total());
}

TEST(memory_is_returned_when_drained) {
  OutputQueue q;
  CHECK_EQ(q.chunk_bytes(), size_t{0});  // nothing until used
  const auto small = bytes(100, 9);
  q.append_copy(small.data(), small.size());
  drain(q);
  CHECK(q.chunk_bytes() <= OutputQueue::kRetainedChunk);  // a small chunk kept for reuse
  const size_t kept = q.chunk_bytes();
  q.append_copy(small.data(), small.size());
  CHECK_EQ(q.chunk_bytes(), kept);  // and reused
  drain(q);
  const auto big = bytes(1 << 20, 1);
  q.append_copy(big.data(), big.size());
  CHECK(q.chunk_bytes() >= big.size());
  CHECK(drain(q) == big);
  CHECK(q.chunk_bytes() <= OutputQueue::kRetainedChunk);
}

TEST(many_slices_with_interleaved_commits) {
  int alive = 0;
  OutputQueue q;
  std::vector<std::vector<uint8_t>> owned;
  for (int i = 0; i < 2000; i++) owned.push_back(bytes(static_cast<size_t>(1 + i % 17), static_cast<uint8_t>(i)));
  std::vector<uint8_t> expected, written;
  for (int i = 0; i < 2000; i++) {
    const auto& v = owned[static_cast<size_t>(i)];
    if (i % 3 == 0)
      q.append_borrowed(v.data(), v.size(), std::make_unique<Owner>(alive, i, nullptr));
    else
      q.append_copy(v.data(), v.size());
    expected.insert(expected.end(), v.begin(), v.end());
    if (i % 5 == 4) {
      // A writev that takes an odd amount.
      Slice s[16];
      const size_t n = q.gather(s, 16);
      size_t take = 0;
      for (size_t j = 0; j < n; j++) take += s[j].len;
      take = take * 2 / 3;
      size_t left = take;
      for (size_t j = 0; j < n && left > 0; j++) {
        const size_t k = std::min(left, s[j].len);
        written.insert(written.end(), s[j].data, s[j].data + k);
        left -= k;
      }
      q.commit(take);
    }
  }
  const auto rest = drain(q);
  written.insert(written.end(), rest.begin(), rest.end());
  CHECK(written == expected);
  CHECK_EQ(alive, 0);
  CHECK(q.chunk_bytes() <= OutputQueue::kRetainedChunk);
}

TEST(move_keeps_the_bytes) {
  Fixture fx;
  OutputQueue q;
  fx.fill(q);
  q.commit(4);
  OutputQueue moved(std::move(q));
  CHECK(q.empty());
  CHECK_EQ(q.slice_count(), size_t{0});
  CHECK(pending_bytes(moved) == std::vector<uint8_t>(fx.expected.begin() + 4, fx.expected.end()));
  OutputQueue assigned;
  assigned = std::move(moved);
  CHECK(drain(assigned) == std::vector<uint8_t>(fx.expected.begin() + 4, fx.expected.end()));
  CHECK_EQ(fx.alive, 0);
}

TEST(copy_borrowed_since_makes_later_borrowed_slices_private) {
  // Issue 13 item 6: bytes a JS ArrayBuffer lent us must survive its transfer (detach + free).
  OutputQueue q;
  int alive = 0;
  std::vector<int> released;
  auto early = bytes(300, 7);
  q.append_borrowed(early.data(), early.size(), std::make_unique<Owner>(alive, 1, &released));
  q.commit(100);  // partly written already
  const uint64_t mark = q.appended_total();
  auto lent = bytes(20000, 9);
  const auto expected_lent = lent;
  q.append_copy(lent.data(), 14);  // a frame header: owned
  q.append_borrowed(lent.data(), 10000, std::make_unique<Owner>(alive, 2, &released));
  q.append_borrowed(lent.data() + 10000, 10000, nullptr);  // a fragment without its own owner
  CHECK_EQ(q.copy_borrowed_since(mark), size_t{20000});
  CHECK_EQ(released.size(), size_t{1});  // the JS reference (owner 2) is let go at once
  CHECK_EQ(released[0], 2);
  std::fill(lent.begin(), lent.end(), 0xee);  // the lender's memory changes (or is freed)
  std::vector<uint8_t> expected(early.begin() + 100, early.end());
  expected.insert(expected.end(), expected_lent.begin(), expected_lent.begin() + 14);
  expected.insert(expected.end(), expected_lent.begin(), expected_lent.end());
  CHECK(drain(q) == expected);
  CHECK_EQ(alive, 0);
  // Nothing after the mark: nothing copied, earlier borrowed slices untouched.
  OutputQueue r;
  r.append_borrowed(early.data(), early.size(), nullptr);
  CHECK_EQ(r.copy_borrowed_since(r.appended_total()), size_t{0});
  Slice s[1];
  CHECK_EQ(r.gather(s, 1), size_t{1});
  CHECK(s[0].data == early.data());
}

// Acknowledgement mode (QUIC: bytes are released when the peer acknowledges them, not when sent).
TEST(copy_borrowed_since_leaves_sent_unacknowledged_slices_in_place) {
  // An HTTP/2 session borrows sent bytes in place until it acknowledges them: copying them (and
  // dropping their owner) under it made its writev read freed memory (EFAULT on a 5 MiB echo).
  int alive = 0;
  std::vector<int> released;  // outlives the queue, whose owners report into it
  OutputQueue q;
  q.set_release_on_ack(true);
  auto a = bytes(1000, 1);
  auto b = bytes(1000, 2);
  auto c = bytes(1000, 3);
  q.append_borrowed(a.data(), a.size(), std::make_unique<Owner>(alive, 1, &released));
  q.append_borrowed(b.data(), b.size(), std::make_unique<Owner>(alive, 2, &released));
  q.append_borrowed(c.data(), c.size(), std::make_unique<Owner>(alive, 3, &released));
  q.commit(1500);  // all of a, half of b sent; nothing acknowledged
  CHECK_EQ(q.copy_borrowed_since(0), size_t{1000});  // only c, the unsent slice
  CHECK_EQ(released.size(), size_t{1});
  CHECK_EQ(released[0], 3);
  Slice s[4];
  CHECK_EQ(q.gather(s, 4), size_t{2});
  CHECK(s[0].data == b.data() + 500);  // b still borrowed in place
  CHECK(s[1].data != c.data());        // c now private
  CHECK_EQ(q.acknowledge(1500), size_t{1500});
  CHECK_EQ(released.size(), size_t{2});  // a released on acknowledgement, b not yet
  CHECK_EQ(alive, 1);
}

TEST(ack_mode_keeps_sent_bytes_until_acknowledged_at_every_split) {
  // Sent in two parts split at every offset, acknowledged in two parts split at every offset: the
  // bytes gathered are the stream in order, owners are released exactly when their last byte is
  // acknowledged (never when merely sent), and nothing stays allocated at the end.
  Fixture probe;
  {
    OutputQueue q;
    probe.fill(q);
  }
  const size_t total = probe.expected.size();
  for (size_t sent = 0; sent <= total; sent += 37) {
    for (size_t acked = 0; acked <= sent; acked += 53) {
      Fixture fx;
      OutputQueue q;
      q.set_release_on_ack(true);
      CHECK(q.release_on_ack());
      fx.fill(q);
      // Send `sent` bytes, reading them back through gather() as a transport would.
      std::vector<uint8_t> out;
      size_t left = sent;
      while (left > 0) {
        Slice s[4];
        const size_t n = q.gather(s, 4);
        CHECK(n > 0);
        const size_t take = std::min(left, s[0].len);
        out.insert(out.end(), s[0].data, s[0].data + take);
        q.commit(take);
        left -= take;
      }
      CHECK(std::equal(out.begin(), out.end(), fx.expected.begin()));
      CHECK_EQ(q.unacknowledged(), sent);
      CHECK_EQ(q.bytes(), total - sent);
      CHECK_EQ(fx.alive, 2);  // sent is not acknowledged: every owner still held
      CHECK_EQ(q.acknowledge(acked), acked);
      for (const auto& [end, id] : fx.borrowed_ends) {
        const bool gone = std::find(fx.released.begin(), fx.released.end(), id) != fx.released.end();
        CHECK_EQ(gone, end <= acked);
      }
      // New bytes after a fully sent stream never merge into sent ones.
      const uint8_t tail[3] = {9, 8, 7};
      q.append_copy(tail, 3);
      std::vector<uint8_t> rest = drain(q);  // sends the rest
      std::vector<uint8_t> want(fx.expected.begin() + static_cast<std::ptrdiff_t>(sent), fx.expected.end());
      want.insert(want.end(), tail, tail + 3);
      CHECK(rest == want);
      CHECK_EQ(q.unacknowledged(), total + 3 - acked);
      CHECK_EQ(q.acknowledge(SIZE_MAX), total + 3 - acked);  // clamped to what was sent
      CHECK_EQ(fx.alive, 0);
      CHECK_EQ(q.unacknowledged(), size_t{0});
      CHECK(q.chunk_bytes() <= OutputQueue::kRetainedChunk);
    }
  }
}

TEST(ack_mode_clear_releases_unsent_and_keeps_sent_until_acknowledged) {
  OutputQueue q;
  q.set_release_on_ack(true);
  int alive = 0;
  auto b = bytes(1000, 3);
  q.append_borrowed(b.data(), b.size(), std::make_unique<Owner>(alive, 1, nullptr));
  q.append_borrowed(b.data(), b.size(), std::make_unique<Owner>(alive, 2, nullptr));
  q.append_borrowed(b.data(), b.size(), std::make_unique<Owner>(alive, 3, nullptr));
  q.commit(1500);
  CHECK_EQ(alive, 3);
  q.clear();
  CHECK_EQ(alive, 2);  // the third was never sent; half of the second was, so it stays
  CHECK_EQ(q.unacknowledged(), size_t{1500});
  CHECK(q.empty());
  CHECK_EQ(q.acknowledge(1500), size_t{1500});
  CHECK_EQ(alive, 0);
  CHECK_EQ(q.unacknowledged(), size_t{0});
  // The mode can change only while nothing is queued or unacknowledged.
  q.append_copy(b.data(), 10);
  q.set_release_on_ack(false);
  CHECK(q.release_on_ack());
  drain(q);
  q.acknowledge(10);
  q.set_release_on_ack(false);
  CHECK(!q.release_on_ack());
}

TEST(clear_in_ack_mode_keeps_sent_unacknowledged_bytes_at_every_split) {
  // A connection torn down while a send is in flight (an io_uring send reads the queue's bytes in
  // place until its completion): clear() drops only what was never sent. The bytes sent but not
  // acknowledged stay intact and owned until acknowledge(); then nothing is left.
  Fixture f;
  OutputQueue probe;
  f.fill(probe);
  const size_t total = f.expected.size();
  for (size_t sent = 1; sent <= total; sent += 37) {
    Fixture x;
    OutputQueue q;
    q.set_release_on_ack(true);
    x.fill(q);
    // What was sent, as the transport saw it (pointers into the queue's storage).
    std::vector<Slice> in_flight;
    Slice s[16];
    const size_t n = q.gather(s, 16);
    size_t left = sent;
    for (size_t i = 0; i < n && left > 0; i++) {
      const size_t take = std::min(left, s[i].len);
      in_flight.push_back({s[i].data, take});
      left -= take;
    }
    q.commit(sent);
    q.clear();
    CHECK_EQ(q.bytes(), size_t{0});
    CHECK_EQ(q.unacknowledged(), sent);
    // Overwrite the heap a little: freed storage would show here.
    std::vector<std::vector<uint8_t>> noise;
    for (int i = 0; i < 8; i++) noise.emplace_back(8192, 0xEE);
    std::vector<uint8_t> read;
    for (const Slice& v : in_flight) read.insert(read.end(), v.data, v.data + v.len);
    CHECK(std::equal(read.begin(), read.end(), x.expected.begin()));
    // Owners of borrowed pieces that were (partly) sent are alive until acknowledged.
    for (const auto& [end, id] : x.borrowed_ends) {
      const bool gone = std::find(x.released.begin(), x.released.end(), id) != x.released.end();
      const size_t start = end - (id == 1 ? x.b.size() : x.d.size());
      if (start < sent) CHECK(!gone);
      else CHECK(gone);  // never sent: released by clear()
    }
    CHECK_EQ(q.acknowledge(sent), sent);
    CHECK_EQ(x.alive, 0);
    CHECK_EQ(q.unacknowledged(), size_t{0});
  }
}

// An idle connection's queue after the handshake: release_storage() frees the retained chunk,
// refuses while anything is pending or unacknowledged, and the queue works as new afterwards.
TEST(release_storage_frees_the_retained_chunk_only_when_idle) {
  OutputQueue q;
  const std::vector<uint8_t> response(160, 'h');
  q.append_copy(response.data(), response.size());
  q.release_storage();  // pending: no-op
  CHECK_EQ(q.bytes(), response.size());
  CHECK(q.chunk_bytes() > 0);
  q.commit(q.bytes());
  CHECK(q.empty());
  CHECK(q.chunk_bytes() > 0);  // retained for reuse
  q.release_storage();
  CHECK_EQ(q.chunk_bytes(), size_t{0});
  q.append_copy(response.data(), 10);
  Slice s[4];
  CHECK_EQ(q.gather(s, 4), size_t{1});
  CHECK(std::equal(s[0].data, s[0].data + 10, response.begin()));
  q.commit(10);
  // In acknowledgement mode, sent but unacknowledged bytes keep their storage.
  q.release_storage();
  q.set_release_on_ack(true);
  q.append_copy(response.data(), response.size());
  q.commit(response.size());
  q.release_storage();
  CHECK(q.chunk_bytes() > 0);
  CHECK_EQ(q.acknowledge(response.size()), response.size());
  q.release_storage();
  CHECK_EQ(q.chunk_bytes(), size_t{0});
}
