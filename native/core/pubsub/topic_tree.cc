#include "core/pubsub/topic_tree.h"

#include <cassert>

namespace sockudo::pubsub {

Subscriber::~Subscriber() { assert(topics_.empty()); }

TopicTree::~TopicTree() {
  // Subscribers outlive nothing here: the transport removes each before it is destroyed.
  assert(subscriptions_ == 0);
}

Topic* TopicTree::lookup(std::string_view topic) const {
  auto it = topics_.find(topic);
  return it == topics_.end() ? nullptr : it->second.get();
}

const Topic* TopicTree::find(std::string_view topic) const { return lookup(topic); }

size_t TopicTree::recipients(std::string_view topic, const void* exclude, std::vector<void*>& out) const {
  out.clear();
  const Topic* t = lookup(topic);
  if (t == nullptr) return 0;
  out.reserve(t->subs.size());
  size_t skipped = 0;
  for (const auto& link : t->subs) {
    void* user = link.subscriber->user();
    if (exclude != nullptr && user == exclude) {
      skipped++;
      continue;
    }
    out.push_back(user);
  }
  return skipped;
}

size_t TopicTree::subscriber_count(std::string_view topic) const {
  const Topic* t = lookup(topic);
  return t ? t->subs.size() : 0;
}

bool TopicTree::is_subscribed(const Subscriber& s, std::string_view topic) const {
  // A socket has few topics, a topic may have many sockets: search the socket's side.
  for (const auto& l : s.topics_)
    if (l.topic->name == topic) return true;
  return false;
}

size_t TopicTree::subscribe(Subscriber& s, std::string_view topic, bool* changed) {
  *changed = false;
  Topic* t = lookup(topic);
  if (t != nullptr && is_subscribed(s, topic)) return t->subs.size();
  if (t == nullptr) {
    auto owned = std::make_unique<Topic>();
    owned->name.assign(topic);
    t = owned.get();
    topics_.emplace(std::string_view(owned->name), std::move(owned));
  }
  t->subs.push_back({&s, static_cast<uint32_t>(s.topics_.size())});
  s.topics_.push_back({t, static_cast<uint32_t>(t->subs.size() - 1)});
  subscriptions_++;
  *changed = true;
  return t->subs.size();
}

// Removes link `topic_index` of `s` from both sides (swap-remove, fixing the moved links' back
// indexes); deletes the topic when it empties.
void TopicTree::unlink(Subscriber& s, uint32_t topic_index) {
  const Subscriber::Link link = s.topics_[topic_index];
  Topic* t = link.topic;
  // Topic side: move its last subscriber into the hole.
  const uint32_t hole = link.index;
  if (hole + 1 != t->subs.size()) {
    t->subs[hole] = t->subs.back();
    t->subs[hole].subscriber->topics_[t->subs[hole].index].index = hole;
  }
  t->subs.pop_back();
  // Subscriber side.
  if (topic_index + 1 != s.topics_.size()) {
    s.topics_[topic_index] = s.topics_.back();
    Subscriber::Link& moved = s.topics_[topic_index];
    moved.topic->subs[moved.index].index = topic_index;
  }
  s.topics_.pop_back();
  subscriptions_--;
  if (t->subs.empty()) {
    topics_.erase(topics_.find(std::string_view(t->name)));
  } else if (t->subs.capacity() > 64 && t->subs.size() < t->subs.capacity() / 4) {
    t->subs.shrink_to_fit();  // a topic that emptied out does not keep its peak size
  }
}

size_t TopicTree::unsubscribe(Subscriber& s, std::string_view topic, bool* changed) {
  *changed = false;
  for (uint32_t i = 0; i < s.topics_.size(); i++) {
    if (s.topics_[i].topic->name != topic) continue;
    const size_t remaining = s.topics_[i].topic->subs.size() - 1;
    unlink(s, i);
    *changed = true;
    return remaining;
  }
  return subscriber_count(topic);
}

void TopicTree::remove_all(Subscriber& s, const std::function<void(std::string_view, size_t)>& on_left) {
  while (!s.topics_.empty()) {
    const uint32_t last = static_cast<uint32_t>(s.topics_.size() - 1);
    Topic* t = s.topics_[last].topic;
    const size_t remaining = t->subs.size() - 1;
    if (on_left) {
      const std::string name = t->name;  // the topic may be deleted by unlink
      unlink(s, last);
      on_left(name, remaining);
    } else {
      unlink(s, last);
    }
  }
  std::vector<Subscriber::Link>().swap(s.topics_);
}

std::vector<std::string_view> TopicTree::topics_of(const Subscriber& s) const {
  std::vector<std::string_view> out;
  out.reserve(s.topics_.size());
  for (const auto& l : s.topics_) out.emplace_back(l.topic->name);
  return out;
}

TopicStats TopicTree::stats() const {
  TopicStats st;
  st.topics = topics_.size();
  st.subscriptions = subscriptions_;
  // Hash table buckets and nodes, each topic's record, name and subscriber array. A socket's own
  // link array is the same size as its share of subscriptions (one Link per subscription).
  st.bytes = topics_.bucket_count() * sizeof(void*);
  for (const auto& [name, t] : topics_) {
    st.bytes += sizeof(std::string_view) + sizeof(std::unique_ptr<Topic>) + 2 * sizeof(void*);  // node
    st.bytes += sizeof(Topic) + (t->name.capacity() > 15 ? t->name.capacity() + 1 : 0);
    st.bytes += t->subs.capacity() * sizeof(Topic::Link);
  }
  st.bytes += subscriptions_ * sizeof(Subscriber::Link);
  return st;
}

}  // namespace sockudo::pubsub
