#include "rules/Json.h"

#include <QLocale>

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

namespace ferry::rules::json {

namespace {

constexpr int kDoubleBuf = 40;

// QByteArray::number(d, 'g', QLocale::FloatingPointShortest) for a finite d, then ".0" when
// that has neither '.' nor exponent, written into buf (kDoubleBuf bytes); returns the length.
// Qt's layout: the shortest round-trip digits (std::to_chars gives the same digits), in
// decimal or exponent form, whichever is shorter (decimal on a tie), the exponent with at
// least two digits, and -0 as "0". tst_rule_semantics compares it with Qt on millions of
// doubles; this replaces a QByteArray::number call (QLocale machinery, an allocation) on the
// per-message path of every republish whose row holds a float.
// The shortest digits of a positive double that is a decimal of at most 15 significant digits
// with at most 15 after the point (what sensors send: 31.5, 0.25, 1013.2): the fewest
// fractional digits k whose m = round(d * 10^k) reads back as d. With 15 digits or fewer two
// decimals never read as the same double, so this is the shortest round-trip text, as
// std::to_chars (and Qt) give it, without their general algorithm. Returns false otherwise.
bool shortDecimal(double d, char *digits, int *count, int *exp10)
{
    static constexpr double kPow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                        1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    if (!(d >= 1e-5 && d < 1e15))
        return false;
    for (int k = 0; k <= 15; ++k) {
        const double scaled = d * kPow10[k];
        if (scaled >= 1e15)
            return false;
        const double m = std::nearbyint(scaled);
        if (m / kPow10[k] != d)
            continue;
        // m has at most 15 digits; write them, drop trailing zeros (they move the exponent).
        auto mi = static_cast<quint64>(m);
        if (mi == 0)
            return false;
        char tmp[20];
        int len = 0;
        while (mi) {
            tmp[len++] = char('0' + mi % 10);
            mi /= 10;
        }
        int first = 0;
        while (tmp[first] == '0') // tmp is reversed: leading entries are the trailing zeros
            ++first;
        int n = 0;
        for (int i = len - 1; i >= first; --i)
            digits[n++] = tmp[i];
        *count = n;
        *exp10 = len - 1 - k;
        return true;
    }
    return false;
}

int writeFiniteDouble(double d, char *buf)
{
    char *o = buf;
    if (d == 0) {
        std::memcpy(o, "0.0", 3);
        return 3;
    }
    char digits[20];
    int n = 0;
    int e = 0; // decimal exponent of the first digit
    if (d < 0)
        *o++ = '-';
    if (!shortDecimal(d < 0 ? -d : d, digits, &n, &e)) {
        char sci[32];
        const auto r = std::to_chars(sci, sci + sizeof sci, d, std::chars_format::scientific);
        const char *p = sci;
        if (*p == '-')
            ++p;
        for (; *p != 'e'; ++p)
            if (*p != '.')
                digits[n++] = *p;
        ++p; // 'e'
        const bool negExp = *p++ == '-';
        for (; p < r.ptr; ++p)
            e = e * 10 + (*p - '0');
        if (negExp)
            e = -e;
    }
    const int decpt = e + 1; // digits before the decimal point
    const int absExp = e < 0 ? -e : e;
    const int expLen = n + (n > 1 ? 1 : 0) + 2 + (absExp >= 100 ? 3 : 2);
    const int decLen = decpt <= 0 ? 2 - decpt + n : (decpt >= n ? decpt : n + 1);
    if (decLen <= expLen) {
        if (decpt <= 0) {
            *o++ = '0';
            *o++ = '.';
            for (int i = 0; i < -decpt; ++i)
                *o++ = '0';
            std::memcpy(o, digits, size_t(n));
            o += n;
        } else if (decpt >= n) {
            std::memcpy(o, digits, size_t(n));
            o += n;
            for (int i = n; i < decpt; ++i)
                *o++ = '0';
            *o++ = '.'; // Qt's text has no '.': ours always has one
            *o++ = '0';
        } else {
            std::memcpy(o, digits, size_t(decpt));
            o += decpt;
            *o++ = '.';
            std::memcpy(o, digits + decpt, size_t(n - decpt));
            o += n - decpt;
        }
    } else {
        *o++ = digits[0];
        if (n > 1) {
            *o++ = '.';
            std::memcpy(o, digits + 1, size_t(n - 1));
            o += n - 1;
        }
        *o++ = 'e';
        *o++ = e < 0 ? '-' : '+';
        if (absExp >= 100)
            *o++ = char('0' + absExp / 100);
        *o++ = char('0' + absExp / 10 % 10);
        *o++ = char('0' + absExp % 10);
    }
    return int(o - buf);
}

void writeString(std::string &out, QByteArrayView s)
{
    // Runs of characters that need no escape are appended whole (this is on the per-message
    // path of every republish without a payload template); std::string appends inline.
    out += '"';
    const char *p = s.data();
    const char *const end = p + s.size();
    const char *run = p;
    for (; p < end; ++p) {
        const unsigned char u = static_cast<unsigned char>(*p);
        if (u >= 0x20 && u != '"' && u != '\\')
            continue;
        out.append(run, size_t(p - run));
        run = p + 1;
        switch (*p) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default: {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", *p);
            out += buf;
        }
        }
    }
    out.append(run, size_t(end - run));
    out += '"';
}

void writeKey(std::string &out, const QString &key)
{
    // Keys are nearly always ASCII: convert without a heap allocation then.
    const qsizetype n = key.size();
    if (n <= 64) {
        char buf[64];
        const QChar *c = key.constData();
        qsizetype i = 0;
        for (; i < n && c[i].unicode() < 0x80; ++i)
            buf[i] = char(c[i].unicode());
        if (i == n) {
            writeString(out, QByteArrayView(buf, n));
            return;
        }
    }
    writeString(out, key.toUtf8());
}

void writeValue(std::string &out, const QVariant &v, int depth)
{
    if (depth > 64) {
        out += "null";
        return;
    }
    switch (v.typeId()) {
    case QMetaType::Bool:
        out += v.toBool() ? "true" : "false";
        return;
    case QMetaType::LongLong:
    case QMetaType::Int:
    case QMetaType::UInt:
    case QMetaType::ULongLong:
        out += std::to_string(v.toLongLong());
        return;
    case QMetaType::Double: {
        const double d = v.toDouble();
        if (std::isfinite(d)) {
            char buf[kDoubleBuf];
            out.append(buf, size_t(writeFiniteDouble(d, buf)));
        } else {
            out += "null";
        }
        return;
    }
    case QMetaType::QByteArray:
        writeString(out, v.toByteArray());
        return;
    case QMetaType::QString:
        writeString(out, v.toString().toUtf8());
        return;
    case QMetaType::QVariantList: {
        out += '[';
        bool first = true;
        for (const QVariant &e : v.toList()) {
            if (!first)
                out += ',';
            first = false;
            writeValue(out, e, depth + 1);
        }
        out += ']';
        return;
    }
    case QMetaType::QVariantMap: {
        out += '{';
        const QVariantMap m = v.toMap();
        bool first = true;
        for (auto it = m.cbegin(); it != m.cend(); ++it) {
            if (!first)
                out += ',';
            first = false;
            writeKey(out, it.key());
            out += ':';
            writeValue(out, it.value(), depth + 1);
        }
        out += '}';
        return;
    }
    default:
        out += "null";
    }
}

QVariant fromElement(simdjson::dom::element e, int depth)
{
    using simdjson::dom::element_type;
    if (depth > 64)
        return nullValue();
    switch (e.type()) {
    case element_type::OBJECT: {
        QVariantMap m;
        for (auto field : simdjson::dom::object(e))
            m.insert(QString::fromUtf8(field.key.data(), int(field.key.size())),
                     fromElement(field.value, depth + 1));
        return m;
    }
    case element_type::ARRAY: {
        QVariantList l;
        for (auto item : simdjson::dom::array(e))
            l.append(fromElement(item, depth + 1));
        return l;
    }
    case element_type::STRING: {
        std::string_view s = e.get_string().value_unsafe();
        return QByteArray(s.data(), int(s.size()));
    }
    case element_type::INT64:
        return QVariant::fromValue<qint64>(e.get_int64().value_unsafe());
    case element_type::UINT64:
        return double(e.get_uint64().value_unsafe());
    case element_type::DOUBLE:
        return e.get_double().value_unsafe();
    case element_type::BOOL:
        return e.get_bool().value_unsafe();
    case element_type::NULL_VALUE:
        return nullValue();
    }
    return QVariant();
}

} // namespace

QVariant nullValue()
{
    return QVariant::fromValue(nullptr);
}
bool isNull(const QVariant &v)
{
    return v.typeId() == QMetaType::Nullptr;
}

QByteArray formatDouble(double d)
{
    if (std::isfinite(d)) {
        char buf[kDoubleBuf];
        return QByteArray(buf, writeFiniteDouble(d, buf));
    }
    QByteArray s = QByteArray::number(d, 'g', QLocale::FloatingPointShortest);
    if (!s.contains('.') && !s.contains('e') && !s.contains('n') && !s.contains('i'))
        s += ".0";
    return s;
}

QByteArray write(const QVariant &value)
{
    // One buffer per thread, kept between calls (no allocation per message for the text
    // being built; the result is one QByteArray of the exact size).
    thread_local std::string buffer;
    thread_local bool busy = false;
    if (busy) { // not expected (writeValue does not call back here), but stay correct
        std::string out;
        writeValue(out, value, 0);
        return QByteArray(out.data(), qsizetype(out.size()));
    }
    busy = true;
    buffer.clear();
    writeValue(buffer, value, 0);
    QByteArray result(buffer.data(), qsizetype(buffer.size()));
    if (buffer.capacity() > 64 * 1024)
        std::string().swap(buffer); // do not keep a large row's buffer
    busy = false;
    return result;
}

bool read(const QByteArray &text, QVariant *out)
{
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (parser.parse(text.constData(), size_t(text.size())).get(root) != simdjson::SUCCESS)
        return false;
    *out = fromElement(root, 0);
    return true;
}

} // namespace ferry::rules::json
