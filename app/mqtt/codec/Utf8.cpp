#include "Utf8.h"

#include <cstdint>
#include <cstring>

namespace ferry::mqtt {

namespace {

// True if none of the eight bytes has its high bit set and none is zero.
inline bool asciiWithoutNul(std::uint64_t w)
{
    constexpr std::uint64_t ones = 0x0101010101010101ull;
    constexpr std::uint64_t highs = 0x8080808080808080ull;
    const bool hasHigh = (w & highs) != 0;
    const bool hasZero = ((w - ones) & ~w & highs) != 0;
    return !hasHigh && !hasZero;
}

inline bool isContinuation(std::uint8_t b)
{
    return (b & 0xC0u) == 0x80u;
}

} // namespace

bool isValidMqttUtf8(const char *data, qsizetype size)
{
    const auto *p = reinterpret_cast<const std::uint8_t *>(data);
    const auto *end = p + size;
    while (p < end) {
        if (end - p >= 8) {
            std::uint64_t w;
            std::memcpy(&w, p, 8);
            if (asciiWithoutNul(w)) {
                p += 8;
                continue;
            }
        }
        const std::uint8_t b0 = *p;
        if (b0 < 0x80u) {
            if (b0 == 0)
                return false; // MQTT-1.5.4-2
            ++p;
            continue;
        }
        // Table 3-7 of the Unicode standard ("well-formed UTF-8 byte sequences").
        if (b0 >= 0xC2u && b0 <= 0xDFu) {
            if (end - p < 2 || !isContinuation(p[1]))
                return false;
            p += 2;
        } else if (b0 >= 0xE0u && b0 <= 0xEFu) {
            if (end - p < 3 || !isContinuation(p[1]) || !isContinuation(p[2]))
                return false;
            if (b0 == 0xE0u && p[1] < 0xA0u)
                return false; // overlong
            if (b0 == 0xEDu && p[1] >= 0xA0u)
                return false; // U+D800..U+DFFF, MQTT-1.5.4-1
            p += 3;
        } else if (b0 >= 0xF0u && b0 <= 0xF4u) {
            if (end - p < 4 || !isContinuation(p[1]) || !isContinuation(p[2]) ||
                !isContinuation(p[3]))
                return false;
            if (b0 == 0xF0u && p[1] < 0x90u)
                return false; // overlong
            if (b0 == 0xF4u && p[1] >= 0x90u)
                return false; // above U+10FFFF
            p += 4;
        } else {
            return false; // stray continuation byte, C0/C1 overlong lead, or F5..FF
        }
    }
    return true;
}

} // namespace ferry::mqtt
