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
                out->m_parts.append({false, literal, {}});
            literal.clear();
            Part field{true, text.mid(i + 2, end - i - 2).trimmed(), {}};
            for (const QByteArray &key : field.text.split('.'))
                field.keys.append(QString::fromUtf8(key));
            out->m_parts.append(field);
            i = end + 1;
        } else {
            literal += text[i++];
        }
    }
    if (!literal.isEmpty())
        out->m_parts.append({false, literal, {}});
    for (const Part &p : out->m_parts) {
        if (p.field)
            ++out->m_fieldCount;
        else
            out->m_literalSize += p.text.size();
    }
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
    QStringList keys;
    for (const QByteArray &key : path.split('.'))
        keys.append(QString::fromUtf8(key));
    return lookupKeys(row, keys);
}

QVariant Template::lookupKeys(const QVariantMap &row, const QStringList &keys)
{
    if (keys.isEmpty())
        return row;
    QVariant v = row.value(keys.first());
    for (qsizetype i = 1; i < keys.size(); ++i) {
        if (v.typeId() == QMetaType::QByteArray) {
            QVariant decoded;
            if (!json::read(v.toByteArray(), &decoded))
                return QVariant();
            v = decoded;
        }
        if (v.typeId() != QMetaType::QVariantMap)
            return QVariant();
        v = v.toMap().value(keys[i]);
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
    out.reserve(m_literalSize + 32 * m_fieldCount);
    for (const Part &p : m_parts) {
        if (!p.field) {
            out.append(p.text);
            continue;
        }
        if (p.keys.size() == 1) {
            // ${name}: a top-level column; a string (the usual case) is appended from the
            // row's own value, without copying the QVariant.
            const auto it = row.constFind(p.keys.front());
            if (it == row.cend())
                continue;
            if (it->typeId() == QMetaType::QByteArray) {
                out.append(*static_cast<const QByteArray *>(it->constData()));
                continue;
            }
            out.append(toText(*it));
            continue;
        }
        out.append(toText(lookupKeys(row, p.keys)));
    }
    return out;
}

} // namespace ferry::rules
