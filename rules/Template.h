#pragma once
// "${field}" templates over a rule's output row, for topics, payloads and headers.
// ${a.b} walks nested maps (a JSON string on the way is decoded); a missing field renders as
// the empty string; maps and arrays render as JSON; "$${" is a literal "${".

#include <QByteArray>
#include <QList>
#include <QStringList>
#include <QVariantMap>

namespace ferry::rules {

class Template {
public:
    Template() = default;
    // Returns false with *error when a "${" is not closed.
    static bool parse(const QByteArray &text, Template *out, QString *error);

    QByteArray render(const QVariantMap &row) const;
    bool isConstant() const;
    const QByteArray &source() const { return m_source; }
    // The text with each placeholder replaced by `wildcard` (used for loop detection).
    QByteArray skeleton(const QByteArray &wildcard) const;

    static QVariant lookup(const QVariantMap &row, const QByteArray &path);
    static QByteArray toText(const QVariant &v);

private:
    struct Part {
        bool field = false;
        QByteArray text;   // literal text or the field path
        QStringList keys;  // a field's path split at '.', as row keys (split once, at parse)
    };
    static QVariant lookupKeys(const QVariantMap &row, const QStringList &keys);
    QList<Part> m_parts;
    QByteArray m_source;
    qsizetype m_literalSize = 0; // for render()'s first allocation
    int m_fieldCount = 0;
};

} // namespace ferry::rules
