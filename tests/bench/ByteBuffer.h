#pragma once
// A growable byte queue for one socket direction: append at the tail, consume from the head.
// Capacity grows to the high-water mark once and is then reused, so the hot path allocates
// nothing per message.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace ferry::bench {

class ByteBuffer {
public:
    const uint8_t *data() const { return bytes_.data() + head_; }
    size_t size() const { return tail_ - head_; }
    bool empty() const { return head_ == tail_; }

    // Returns a pointer to n writable bytes at the tail; commit() makes them readable.
    uint8_t *reserveTail(size_t n)
    {
        if (bytes_.size() - tail_ < n) {
            compact();
            if (bytes_.size() - tail_ < n)
                bytes_.resize(tail_ + n);
        }
        return bytes_.data() + tail_;
    }
    void commit(size_t n) { tail_ += n; }

    void append(const void *src, size_t n)
    {
        std::memcpy(reserveTail(n), src, n);
        commit(n);
    }
    void appendByte(uint8_t b) { append(&b, 1); }

    void consume(size_t n)
    {
        head_ += n;
        if (head_ == tail_)
            head_ = tail_ = 0;
    }

    void clear() { head_ = tail_ = 0; }

    // Drops the memory too: used when a connection closes (10,000 idle clients).
    void release()
    {
        clear();
        std::vector<uint8_t>().swap(bytes_);
    }

private:
    void compact()
    {
        if (head_ == 0)
            return;
        std::memmove(bytes_.data(), bytes_.data() + head_, tail_ - head_);
        tail_ -= head_;
        head_ = 0;
    }

    std::vector<uint8_t> bytes_;
    size_t head_ = 0;
    size_t tail_ = 0;
};

} // namespace ferry::bench
