#include "rules/Template.h"

#include "rules/Json.h"

namespace ferry::rules {

bool Template::parse(const QByteArray &text, Template *out, QString *error)
{
    *out = Template();
    out->m_source = text;
    QByteArray literal;
    qsizetype i = 0;
    while (i < text.size()) {
        if (text.mid(i, 3) == "$${") {
            literal += "${";
            i += 3;
        } else if (text.mid(i, 2) == "${") {
            const qsizetype end = text.indexOf('}', i + 2);
            if (end < 0) {
                *error = QString("unclosed ${ at character %1 of template '%2'")
                             .arg(i + 1)
                             .arg(QString::fromUtf8(text));
                return false;
            }
            if (!literal.isEmpty())
                out->m_parts.append({false, literal});
            literal.clear();
            out->m_parts.append({true, text.mid(i + 2, end - i - 2).trimmed()});
            i = end + 1;
        } else {
            literal += text[i++];
        }
    }
    if (!literal.isEmpty())
        out->m_parts.append({false, literal});
    return true;
}

bool Template::isConstant() const
{
    for (const Part &p : m_parts)
        if (p.field)
            return false;
    return true;
}

QByteArray Template::skeleton(const QByteArray &wildcard) const
{
    QByteArray out;
    for (const Part &p : m_parts)
        out += p.field ? wildcard : p.text;
    return out;
}

QVariant Template::lookup(const QVariantMap &row, const QByteArray &path)
{
    QVariant v = row;
    for (const QByteArray &key : path.split('.')) {
        if (v.typeId() == QMetaType::QByteArray) {
            QVariant decoded;
            if (!json::read(v.toByteArray(), &decoded))
                return QVariant();
            v = decoded;
        }
        if (v.typeId() != QMetaType::QVariantMap)
            return QVariant();
        v = v.toMap().value(QString::fromUtf8(key));
    }
    return v;
}

QByteArray Template::toText(const QVariant &v)
{
    switch (v.typeId()) {
    case QMetaType::UnknownType:
    case QMetaType::Nullptr:
        return QByteArray();
    case QMetaType::QByteArray:
        return v.toByteArray();
    default:
        return json::write(v);
    }
}

QByteArray Template::render(const QVariantMap &row) const
{
    QByteArray out;
    for (const Part &p : m_parts)
        out += p.field ? toText(lookup(row, p.text)) : p.text;
    return out;
}

} // namespace ferry::rules
