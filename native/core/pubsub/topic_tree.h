// Topics and their subscribers, for publish-once fan-out. One tree per event loop (the transport
// owns it), so nothing here locks; subscribers are the transport's sockets, seen only as opaque
// Subscriber records the tree links both ways:
//
//   Topic ── subs_[i] = {subscriber, j} ──▶ Subscriber ── topics_[j] = {topic, i} ──▶ Topic
//
// Each side stores the other's index, so subscribe, unsubscribe and "this socket closed" are all
// O(1) per subscription (swap-remove on both sides), whatever the topic's size: 10,000 sockets
// leaving a 10,000-subscriber topic is 10,000 steps, not 10^8. Swap-remove reorders a topic's
// subscriber list, which only changes which socket gets a publish first; each socket's own
// order of messages is kept by its output queue.
//
// A topic exists while it has subscribers. Names are bytes (the binding passes UTF-8), at most
// kMaxTopicLength.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sockudo::pubsub {

inline constexpr size_t kMaxTopicLength = 1024;

class TopicTree;
struct Topic;

// One subscribing socket. `user` is the transport's pointer back to its socket.
class Subscriber {
 public:
  explicit Subscriber(void* user) : user_(user) {}
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;
  ~Subscriber();  // must have been removed from its tree (TopicTree::remove_all)

  void* user() const { return user_; }
  size_t topic_count() const { return topics_.size(); }

 private:
  friend class TopicTree;
  struct Link {
    Topic* topic;
    uint32_t index;  // position of this subscriber in topic->subs
  };
  void* user_;
  std::vector<Link> topics_;
};

struct Topic {
  struct Link {
    Subscriber* subscriber;
    uint32_t index;  // position of this topic in subscriber->topics_
  };
  std::string name;
  std::vector<Link> subs;
};

struct TopicStats {
  size_t topics = 0;
  size_t subscriptions = 0;
  size_t bytes = 0;  // container and name memory the tree holds (an estimate from capacities)
};

class TopicTree {
 public:
  TopicTree() = default;
  TopicTree(const TopicTree&) = delete;
  TopicTree& operator=(const TopicTree&) = delete;
  ~TopicTree();

  // Returns the topic's subscriber count after the call; *changed tells whether it changed.
  size_t subscribe(Subscriber& s, std::string_view topic, bool* changed);
  size_t unsubscribe(Subscriber& s, std::string_view topic, bool* changed);
  bool is_subscribed(const Subscriber& s, std::string_view topic) const;
  // Removes every subscription of `s`, calling on_left(topic, remaining count) for each.
  void remove_all(Subscriber& s, const std::function<void(std::string_view, size_t)>& on_left = nullptr);
  // The topics of `s`, in no particular order.
  std::vector<std::string_view> topics_of(const Subscriber& s) const;

  size_t subscriber_count(std::string_view topic) const;
  // The topic's record (null when nobody subscribes). Its `subs` may be iterated to fan out, but
  // must not be changed meanwhile: a caller that may unsubscribe during the walk copies it first.
  const Topic* find(std::string_view topic) const;
  // The `user` pointers of the topic's subscribers, except the subscriber whose user is `exclude`
  // (null: nobody excluded), appended to `out` (cleared first). A publish walks this copy, so
  // sends that close sockets (and so unsubscribe them) cannot disturb the walk. Returns how many
  // were skipped (0 or 1): the caller can tell an excluded subscriber from an absent one.
  size_t recipients(std::string_view topic, const void* exclude, std::vector<void*>& out) const;

  TopicStats stats() const;

 private:
  Topic* lookup(std::string_view topic) const;
  void unlink(Subscriber& s, uint32_t topic_index);

  // Keyed by a view of the topic's own name (the Topic is heap-allocated and never moves).
  std::unordered_map<std::string_view, std::unique_ptr<Topic>> topics_;
  size_t subscriptions_ = 0;
};

}  // namespace sockudo::pubsub
