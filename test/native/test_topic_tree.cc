// The pub/sub topic tree against a reference model: random subscribe / unsubscribe / remove_all
// sequences over many subscribers and topics, checking counts, membership, each subscriber's
// topic list, the fan-out lists (every subscriber exactly once) and that empty topics vanish.
#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/pubsub/topic_tree.h"
#include "harness.h"

using sockudo::pubsub::Subscriber;
using sockudo::pubsub::TopicTree;

TEST(subscribe_unsubscribe_counts_and_events) {
  TopicTree tree;
  Subscriber a(reinterpret_cast<void*>(1)), b(reinterpret_cast<void*>(2));
  bool changed = false;
  CHECK_EQ(tree.subscribe(a, "news", &changed), size_t{1});
  CHECK(changed);
  CHECK_EQ(tree.subscribe(a, "news", &changed), size_t{1});
  CHECK(!changed);
  CHECK_EQ(tree.subscribe(b, "news", &changed), size_t{2});
  CHECK(tree.is_subscribed(a, "news"));
  CHECK(!tree.is_subscribed(a, "sport"));
  CHECK_EQ(tree.unsubscribe(a, "sport", &changed), size_t{0});
  CHECK(!changed);
  CHECK_EQ(tree.unsubscribe(a, "news", &changed), size_t{1});
  CHECK(changed);
  tree.subscribe(b, "sport", &changed);
  std::vector<std::pair<std::string, size_t>> left;
  tree.remove_all(b, [&](std::string_view t, size_t n) { left.emplace_back(std::string(t), n); });
  std::sort(left.begin(), left.end());
  CHECK(left == (std::vector<std::pair<std::string, size_t>>{{"news", 0}, {"sport", 0}}));
  CHECK_EQ(tree.stats().topics, size_t{0});
  CHECK(tree.find("news") == nullptr);
}

TEST(random_operations_match_a_reference_model) {
  TopicTree tree;
  constexpr int kSubs = 60, kTopics = 40;
  std::vector<std::unique_ptr<Subscriber>> subs;
  for (int i = 0; i < kSubs; i++) subs.push_back(std::make_unique<Subscriber>(reinterpret_cast<void*>(static_cast<uintptr_t>(i + 1))));
  std::map<std::string, std::set<int>> model;
  uint64_t x = 0x2545F4914F6CDD1Dull;
  auto rnd = [&] { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x; };
  for (int step = 0; step < 50000; step++) {
    const int s = static_cast<int>(rnd() % kSubs);
    const std::string topic = "t" + std::to_string(rnd() % kTopics);
    const int op = static_cast<int>(rnd() % 100);
    bool changed = false;
    if (op < 55) {
      const size_t n = tree.subscribe(*subs[s], topic, &changed);
      CHECK_EQ(changed, model[topic].insert(s).second);
      CHECK_EQ(n, model[topic].size());
    } else if (op < 95) {
      const size_t n = tree.unsubscribe(*subs[s], topic, &changed);
      auto it = model.find(topic);
      const bool had = it != model.end() && it->second.erase(s) == 1;
      CHECK_EQ(changed, had);
      CHECK_EQ(n, it == model.end() ? size_t{0} : it->second.size());
      if (it != model.end() && it->second.empty()) model.erase(it);
    } else {
      size_t calls = 0;
      tree.remove_all(*subs[s], [&](std::string_view t, size_t n) {
        calls++;
        auto it = model.find(std::string(t));
        CHECK(it != model.end() && it->second.erase(s) == 1);
        CHECK_EQ(n, it->second.size());
        if (it->second.empty()) model.erase(it);
      });
      CHECK_EQ(subs[s]->topic_count(), size_t{0});
    }
    for (auto it = model.begin(); it != model.end();) it = it->second.empty() ? model.erase(it) : std::next(it);
    if (step % 997 == 0) {
      // Full comparison: topics, fan-out lists, each subscriber's topics.
      size_t subscriptions = 0;
      for (const auto& [name, members] : model) {
        const auto* t = tree.find(name);
        CHECK(t != nullptr);
        if (t == nullptr) continue;
        std::set<int> fan;
        for (const auto& l : t->subs) CHECK(fan.insert(static_cast<int>(reinterpret_cast<uintptr_t>(l.subscriber->user())) - 1).second);
        CHECK(fan == members);
        subscriptions += members.size();
      }
      CHECK_EQ(tree.stats().topics, model.size());
      CHECK_EQ(tree.stats().subscriptions, subscriptions);
      for (int i = 0; i < kSubs; i++) {
        std::set<std::string> mine, expect;
        for (auto v : tree.topics_of(*subs[i])) mine.insert(std::string(v));
        for (const auto& [name, members] : model) if (members.count(i)) expect.insert(name);
        CHECK(mine == expect);
      }
    }
  }
  for (auto& s : subs) tree.remove_all(*s);
  CHECK_EQ(tree.stats().topics, size_t{0});
  CHECK_EQ(tree.stats().subscriptions, size_t{0});
}

TEST(leaving_a_large_topic_is_linear) {
  // 20,000 subscribers leave one topic in reverse order of joining: with swap-remove links this is
  // 20,000 O(1) steps (a quadratic scheme would be 2·10^8 and time out under the sanitizers).
  TopicTree tree;
  std::vector<std::unique_ptr<Subscriber>> subs;
  bool changed = false;
  for (int i = 0; i < 20000; i++) {
    subs.push_back(std::make_unique<Subscriber>(nullptr));
    tree.subscribe(*subs.back(), "big", &changed);
    tree.subscribe(*subs.back(), "own-" + std::to_string(i), &changed);
  }
  CHECK_EQ(tree.subscriber_count("big"), size_t{20000});
  CHECK_EQ(tree.stats().topics, size_t{20001});
  for (int i = 19999; i >= 0; i--) tree.remove_all(*subs[i]);
  CHECK_EQ(tree.stats().topics, size_t{0});
}

// recipients(): the fan-out list a publish walks, with one subscriber left out (a Pusher-style
// socket_id exclusion, or a socket publishing to its own topic).
TEST(recipients_excludes_one_subscriber) {
  TopicTree tree;
  std::vector<std::unique_ptr<Subscriber>> subs;
  bool changed = false;
  for (uintptr_t i = 1; i <= 5; i++) {
    subs.push_back(std::make_unique<Subscriber>(reinterpret_cast<void*>(i)));
    tree.subscribe(*subs.back(), "room", &changed);
  }
  Subscriber outsider(reinterpret_cast<void*>(99));
  tree.subscribe(outsider, "other", &changed);
  std::vector<void*> out{reinterpret_cast<void*>(7)};  // cleared first
  CHECK_EQ(tree.recipients("room", nullptr, out), size_t{0});
  CHECK_EQ(out.size(), size_t{5});
  CHECK_EQ(tree.recipients("room", reinterpret_cast<void*>(3), out), size_t{1});
  CHECK_EQ(out.size(), size_t{4});
  std::set<void*> got(out.begin(), out.end());
  CHECK_EQ(got.size(), size_t{4});
  CHECK(got.count(reinterpret_cast<void*>(3)) == 0);
  for (uintptr_t i : {1, 2, 4, 5}) CHECK(got.count(reinterpret_cast<void*>(i)) == 1);
  // Excluding a socket that is not subscribed (or subscribed elsewhere) excludes nobody.
  CHECK_EQ(tree.recipients("room", reinterpret_cast<void*>(99), out), size_t{0});
  CHECK_EQ(out.size(), size_t{5});
  // A topic nobody subscribes to has no recipients.
  CHECK_EQ(tree.recipients("none", nullptr, out), size_t{0});
  CHECK(out.empty());
  // After the excluded socket leaves, the others still get everything.
  tree.unsubscribe(*subs[2], "room", &changed);
  CHECK_EQ(tree.recipients("room", reinterpret_cast<void*>(3), out), size_t{0});
  CHECK_EQ(out.size(), size_t{4});
  for (auto& s : subs) tree.remove_all(*s);
  tree.remove_all(outsider);
}
