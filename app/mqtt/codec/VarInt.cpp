#include "VarInt.h"

namespace ferry::mqtt::varint {

ReadStatus read(const char *data, qsizetype size, std::uint32_t &value, int &length)
{
    std::uint32_t result = 0;
    for (int i = 0; i < MaxBytes; ++i) {
        if (i >= size)
            return ReadStatus::NeedMore;
        const auto byte = static_cast<std::uint8_t>(data[i]);
        result |= std::uint32_t(byte & 0x7Fu) << (7 * i);
        if ((byte & 0x80u) == 0) {
            value = result;
            length = i + 1;
            return ReadStatus::Ok;
        }
    }
    return ReadStatus::Malformed;
}

int write(std::uint32_t value, char *out)
{
    Q_ASSERT(value <= MaxValue);
    int n = 0;
    do {
        std::uint8_t byte = value & 0x7Fu;
        value >>= 7;
        if (value)
            byte |= 0x80u;
        out[n++] = char(byte);
    } while (value && n < MaxBytes);
    return n;
}

} // namespace ferry::mqtt::varint
