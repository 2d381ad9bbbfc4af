#include "rules/Json.h"

#include <QLocale>

#include <simdjson.h>

#include <cmath>
#include <cstdio>
#include <string>

namespace ferry::rules::json {

namespace {

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

void addBytes(std::string &out, const QByteArray &b)
{
    out.append(b.constData(), size_t(b.size()));
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
        if (std::isfinite(d))
            addBytes(out, formatDouble(d));
        else
            out += "null";
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
    QByteArray s = QByteArray::number(d, 'g', QLocale::FloatingPointShortest);
    if (!s.contains('.') && !s.contains('e') && !s.contains('n') && !s.contains('i'))
        s += ".0";
    return s;
}

QByteArray write(const QVariant &value)
{
    std::string out;
    out.reserve(64);
    writeValue(out, value, 0);
    return QByteArray(out.data(), qsizetype(out.size()));
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
