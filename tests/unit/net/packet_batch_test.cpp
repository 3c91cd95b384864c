// SPDX-License-Identifier: MIT
// DatagramBatch and PacketBatch: slot layout and GRO/GSO segment arithmetic.
#include "net/packet_batch.h"

#include <gtest/gtest.h>

#include <cstring>

namespace slirpvpn::net {
namespace {

TEST(DatagramBatch, SlotsAreSeparateBuffersOfTheRequestedCapacity) {
  DatagramBatch batch(4, 1500);
  EXPECT_EQ(batch.slots(), 4u);
  EXPECT_EQ(batch.slot_capacity(), 1500u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(batch[i].capacity, 1500u);
    EXPECT_EQ(batch[i].length, 0u);
    std::memset(batch[i].data, int(i + 1), batch[i].capacity);
  }
  // Writing a whole slot touches no other slot.
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(batch[i].buffer().front(), i + 1);
    EXPECT_EQ(batch[i].buffer().back(), i + 1);
  }
  EXPECT_EQ(batch.datagrams().size(), 4u);
}

TEST(DatagramBatch, SegmentArithmetic) {
  DatagramBatch batch(1, 4000);
  Datagram& d = batch[0];
  // {length, segment_size, expected count, size of the last}
  struct Row {
    uint32_t length;
    uint16_t segment_size;
    size_t count;
    size_t last;
  };
  const Row rows[] = {
      /* 0 */ {0, 0, 0, 0},
      /* 1 */ {100, 0, 1, 100},
      /* 2 */ {100, 1000, 1, 100},
      /* 3 */ {1000, 1000, 1, 1000},
      /* 4 */ {3000, 1000, 3, 1000},
      /* 5 */ {3001, 1000, 4, 1},
      /* 6 */ {2500, 1000, 3, 500},
  };
  for (size_t row = 0; row < std::size(rows); ++row) {
    SCOPED_TRACE(row);
    d.reset();
    d.length = rows[row].length;
    d.segment_size = rows[row].segment_size;
    ASSERT_EQ(d.segment_count(), rows[row].count);
    size_t total = 0;
    for (size_t k = 0; k < d.segment_count(); ++k) {
      EXPECT_EQ(d.segment(k).data(), d.data + total);
      total += d.segment(k).size();
    }
    EXPECT_EQ(total, rows[row].length);
    if (rows[row].count) {
      EXPECT_EQ(d.segment(rows[row].count - 1).size(), rows[row].last);
    }
  }
}

TEST(DatagramBatch, ResetClearsMetadata) {
  DatagramBatch batch(1, 100);
  Datagram& d = batch[0];
  d.length = 50;
  d.segment_size = 10;
  d.ifindex = 3;
  d.peer = *Endpoint::parse("198.51.100.1:51820");
  d.local = *IpAddress::parse("198.51.100.2");
  d.reset();
  EXPECT_EQ(d.length, 0u);
  EXPECT_EQ(d.segment_size, 0u);
  EXPECT_EQ(d.ifindex, 0u);
  EXPECT_EQ(d.peer, Endpoint{});
  EXPECT_FALSE(d.local.has_value());
  EXPECT_EQ(d.capacity, 100u);
}

TEST(PacketBatch, LengthsAndBuffers) {
  PacketBatch batch(3, 64);
  batch.set_length(1, 20);
  std::memset(batch.buffer(1).data(), 0xab, 20);
  EXPECT_EQ(batch.length(0), 0u);
  EXPECT_EQ(batch.packet(1).size(), 20u);
  EXPECT_EQ(batch.packet(1)[19], 0xab);
  EXPECT_EQ(batch.buffer(2).data() - batch.buffer(1).data(), 64);
}

TEST(PacketBatchDeathTest, LengthBeyondCapacityIsOurBug) {
  PacketBatch batch(1, 64);
  EXPECT_DEATH(batch.set_length(0, 65), "assertion failed");
}

}  // namespace
}  // namespace slirpvpn::net
