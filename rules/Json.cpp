#include "rules/Json.h"

#include <QLocale>

#include <simdjson.h>

#include <cmath>

namespace ferry::rules::json {

namespace {

void writeString(QByteArray &out, const QByteArray &s)
{
    out += '"';
    for (char c : s) {
        switch (c) {
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
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", c);
                out += buf;
            } else {
                out += c;
            }
        }
    }
    out += '"';
}

void writeValue(QByteArray &out, const QVariant &v, int depth)
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
        out += QByteArray::number(v.toLongLong());
        return;
    case QMetaType::Double: {
        const double d = v.toDouble();
        out += std::isfinite(d) ? formatDouble(d) : QByteArray("null");
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
            writeString(out, it.key().toUtf8());
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
    QByteArray out;
    writeValue(out, value, 0);
    return out;
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
