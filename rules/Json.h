#pragma once
// JSON text for rule values. A rule value is a QVariant holding one of: invalid (undefined),
// std::nullptr_t (JSON null), bool, qint64, double, QByteArray (UTF-8 string), QVariantList,
// QVariantMap. Integers and floats stay distinct (EMQX prints 30 and 30.0 differently).

#include <QByteArray>
#include <QVariant>

namespace ferry::rules::json {

// Undefined encodes as null. Keys of a map come out sorted (QVariantMap order).
QByteArray write(const QVariant &value);
// Shortest round-trip text of a double, always with a '.' or exponent ("30.0", "0.1").
QByteArray formatDouble(double d);
// Parses JSON text into a rule value; returns false on a syntax error.
bool read(const QByteArray &text, QVariant *out);
QVariant nullValue();
bool isNull(const QVariant &v);

} // namespace ferry::rules::json
