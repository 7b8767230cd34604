#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tiercache {

// How often keys were seen lately, approximately and in fixed memory: TinyLFU's
// count-min sketch of 4-bit counters (four rows), in front of it a doorkeeper (a Bloom
// filter that takes a key's first sighting, so that keys seen once never reach the
// counters), and aging: after 10 × capacity sightings every counter is halved and the
// doorkeeper cleared, so that what was popular long ago fades. Not thread-safe: an L1
// shard uses it under its lock.
class FrequencySketch {
 public:
  // Sized for about `capacity` entries (at least 16): 9 bytes per entry.
  explicit FrequencySketch(uint64_t capacity);

  // Records one sighting of the key with hash `hash`.
  void Increment(uint64_t hash);
  // The key's estimated sightings since the last aging, at most 16.
  uint32_t Frequency(uint64_t hash) const;

  // Bytes the sketch takes (fixed at construction).
  size_t bytes() const { return (table_.size() + doorkeeper_.size()) * sizeof(uint64_t); }

 private:
  // Where a key's counters and doorkeeper bits are.
  struct Slots {
    uint64_t word[4];
    uint8_t shift[4];
    uint64_t door_word;
    uint64_t door_bits;
  };
  Slots SlotsOf(uint64_t hash) const;
  void Age();

  std::vector<uint64_t> table_;       // 16 counters of 4 bits per word, 8 words per block
  std::vector<uint64_t> doorkeeper_;  // bits
  uint64_t block_mask_;               // blocks - 1 (a power of two)
  uint64_t doorkeeper_mask_;          // doorkeeper words - 1 (a power of two)
  uint64_t sample_size_;
  uint64_t additions_ = 0;
};

}  // namespace tiercache
