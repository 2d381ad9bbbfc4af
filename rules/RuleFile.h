#pragma once
// Reads rules.d/*.toml into rule specifications, keeping enough of the source to report any
// later error (TOML, SQL or action) as file:line:column.
//
// [[rule]]
// name = "hot-sensors"            # required, unique across all files
// sql = '''SELECT ... FROM "..."'''
// enabled = true                  # optional
// description = "..."             # optional
// actions = [ { type = "republish", topic = "alerts/${clientid}", qos = 1 }, ... ]

#include <QByteArray>
#include <QList>
#include <QString>
#include <QVariantMap>

#include <memory>

namespace ferry::rules {

struct LoadError {
    QString file;
    int line = 0;
    int column = 0;
    QString message;
    QString toString() const; // "file:line:column: message"
};

// Maps byte offsets in a file to 1-based line:column (column in characters).
class SourceText {
public:
    SourceText(QString path, QByteArray text);
    const QString &path() const { return m_path; }
    const QByteArray &text() const { return m_text; }
    LoadError errorAt(qsizetype fileOffset, const QString &message) const;
    qsizetype offsetOf(int line, int column) const; // inverse, for toml++ positions

private:
    QString m_path;
    QByteArray m_text;
    QList<qsizetype> m_lineStarts;
};

struct ActionSpec {
    QString type;
    QVariantMap params; // TOML values as rule values (QByteArray strings, qint64, ...)
    int line = 0;
    int column = 0;
};

struct RuleSpec {
    QString name;
    QByteArray sql;
    bool enabled = true;
    QList<ActionSpec> actions;
    std::shared_ptr<const SourceText> source;
    int line = 0; // of the [[rule]] table
    int column = 0;
    QList<qsizetype> sqlOffsets; // file offset of each SQL byte (size sql.size() + 1)

    LoadError sqlError(int sqlOffset, const QString &message) const;
    LoadError error(int line, int column, const QString &message) const;
};

class RuleFile {
public:
    // Parses one file; appends its rules to *rules and its problems to *errors.
    static void load(const QString &path, QList<RuleSpec> *rules, QList<LoadError> *errors);
    static void loadText(const QString &path, const QByteArray &text, QList<RuleSpec> *rules,
                         QList<LoadError> *errors);
};

} // namespace ferry::rules
