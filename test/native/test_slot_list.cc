// SlotList: the loop's per-turn work lists (sockets to flush, sockets to resume). Issue 13 item 7:
// taking a socket off the list was a linear search, so closing N listed sockets in one turn cost
// O(N²); now a removal clears the one entry its slot names.
#include <vector>

#include "core/io/slot_list.h"
#include "harness.h"

using sockudo::io::ListSlot;
using sockudo::io::SlotList;

namespace {
struct Item {
  int id;
  ListSlot slot;
};

std::vector<int> walk(SlotList<Item>& list) {
  std::vector<int> ids;
  for (size_t i = 0; i < list.size(); i++)
    if (Item* it = list.at(i)) ids.push_back(it->id);
  return ids;
}
}  // namespace

TEST(add_is_idempotent_and_remove_clears_only_its_entry) {
  SlotList<Item> list;
  Item a{1, {}}, b{2, {}}, c{3, {}};
  CHECK(list.add(&a, a.slot));
  CHECK(list.add(&b, b.slot));
  CHECK(!list.add(&a, a.slot));  // already listed
  CHECK(list.add(&c, c.slot));
  list.remove(&b, b.slot);
  CHECK(!b.slot.listed);
  CHECK(walk(list) == std::vector<int>({1, 3}));
  list.remove(&b, b.slot);  // not listed: nothing happens
  CHECK(list.add(&b, b.slot));  // listed again, at the end
  CHECK(walk(list) == std::vector<int>({1, 3, 2}));
  CHECK_EQ(b.slot.index, size_t{3});
}

TEST(removing_every_item_touches_one_entry_each) {
  // 100,000 items removed in an order a search from the front would make quadratic: every
  // removal leaves exactly its own entry null and no other.
  constexpr int n = 100000;
  std::vector<Item> items(n);
  SlotList<Item> list;
  for (int i = 0; i < n; i++) {
    items[i].id = i;
    list.add(&items[i], items[i].slot);
  }
  for (int i = n - 1; i >= 0; i -= 2) list.remove(&items[i], items[i].slot);
  size_t live = 0;
  for (size_t i = 0; i < list.size(); i++) {
    Item* it = list.at(i);
    CHECK((it == nullptr) == (i % 2 == 1));
    if (it != nullptr) {
      CHECK_EQ(it->slot.index, i);
      live++;
    }
  }
  CHECK_EQ(live, size_t{n / 2});
}

TEST(a_walk_releases_entries_and_sees_items_added_behind_it) {
  SlotList<Item> list;
  Item a{1, {}}, b{2, {}}, late{3, {}};
  list.add(&a, a.slot);
  list.add(&b, b.slot);
  std::vector<int> seen;
  for (size_t i = 0; i < list.size(); i++) {
    Item* it = list.at(i);
    if (it == nullptr) continue;
    list.release(i, it->slot);
    CHECK(!it->slot.listed);
    seen.push_back(it->id);
    if (it->id == 1) {
      list.add(&late, late.slot);  // a drain handler that sends: flushed in the same pass
      list.remove(&b, b.slot);    // b is no longer listed: gone before the walk reaches it
    }
  }
  CHECK(seen == std::vector<int>({1, 3}));
  list.clear();
  CHECK(list.empty());
  // take(): hands the entries over; what is added meanwhile is for the next walk.
  list.add(&a, a.slot);
  std::vector<Item*> now = list.take();
  CHECK_EQ(now.size(), size_t{1});
  CHECK(list.empty());
  a.slot.listed = false;
  CHECK(list.add(&a, a.slot));
}
