// A list of pointers with O(1) add and remove, for the loop's per-turn work lists (sockets with
// corked output, sockets with suspended input). Each item keeps a ListSlot: whether it is listed
// and where. Removal clears the slot in place (a null entry), so closing every listed socket in
// one turn stays linear; the owner skips nulls and calls clear() (or take()) when it has walked
// the list. Adding while the owner walks the list appends behind the walk.
#pragma once

#include <cstddef>
#include <vector>

namespace sockudo::io {

struct ListSlot {
  bool listed = false;
  size_t index = 0;
};

template <typename T>
class SlotList {
 public:
  // Adds `item` unless its slot says it is listed already. Returns whether it was added.
  bool add(T* item, ListSlot& slot) {
    if (slot.listed) return false;
    slot.listed = true;
    slot.index = items_.size();
    items_.push_back(item);
    return true;
  }
  // Takes `item` off the list (its entry becomes null). No-op when not listed.
  void remove(T* item, ListSlot& slot) {
    if (!slot.listed) return;
    slot.listed = false;
    if (slot.index < items_.size() && items_[slot.index] == item) items_[slot.index] = nullptr;
  }
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }  // entries, removed ones (null) included
  T* at(size_t i) const { return items_[i]; }
  // Ends entry i's listing as the walk reaches it: the entry becomes null, the slot unlisted.
  T* release(size_t i, ListSlot& slot) {
    T* item = items_[i];
    items_[i] = nullptr;
    slot.listed = false;
    return item;
  }
  void clear() { items_.clear(); }
  // Walks the list, taking each entry off (release) before `visit(item)`; entries added during
  // the walk, the visited item itself included, are walked in the same pass. Ends empty.
  // `slot_of(item)` names the item's ListSlot for this list.
  template <typename SlotOf, typename Visit>
  void drain(SlotOf slot_of, Visit visit) {
    for (size_t i = 0; i < items_.size(); i++) {
      T* item = items_[i];
      if (item == nullptr) continue;
      release(i, slot_of(item));
      visit(item);
    }
    items_.clear();
  }
  // Hands the current entries over (a walk that may add new ones for next time).
  std::vector<T*> take() {
    std::vector<T*> out;
    out.swap(items_);
    return out;
  }

 private:
  std::vector<T*> items_;
};

}  // namespace sockudo::io
