#pragma once
// Variable Byte Integer (MQTT 5.0 spec 1.5.5, 3.1.1 spec 2.2.3): 7 bits a byte, low group first,
// high bit = "more bytes follow". At most four bytes, so the largest value is 268,435,455.

#include <QtGlobal>

#include <cstdint>

namespace ferry::mqtt::varint {

constexpr std::uint32_t MaxValue = 268435455;
constexpr int MaxBytes = 4;

enum class ReadStatus { Ok, NeedMore, Malformed };

// Reads one Variable Byte Integer from data[0..size). On Ok, value and length (bytes used) are
// set. NeedMore: every byte present has the continuation bit and fewer than four were seen.
// Malformed: the fourth byte still has the continuation bit set — "The maximum number of bytes in
// the Variable Byte Integer field is four" (1.5.5); a fifth byte is never read (NanoMQ
// CVE-2026-21888 read past its buffer there). Non-minimal encodings (e.g. 0x80 0x00) are
// accepted, as most brokers do: MQTT-1.5.5-1 binds the sender, and rejecting them buys nothing.
ReadStatus read(const char *data, qsizetype size, std::uint32_t &value, int &length);

// Bytes needed to encode value (1..4); value must be <= MaxValue.
constexpr int encodedSize(std::uint32_t value)
{
    return value < 128u ? 1 : value < 16384u ? 2 : value < 2097152u ? 3 : 4;
}

// Writes value (<= MaxValue) at out, returns the number of bytes written.
int write(std::uint32_t value, char *out);

} // namespace ferry::mqtt::varint
