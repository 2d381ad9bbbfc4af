#pragma once
// The local history database of the `store` action: one SQLite file, one table per name,
// rows (id, ts, rule, data JSON). Rows are buffered and written in one transaction per flush
// (a zero-delay timer, so at most once per event-loop turn), and each table is trimmed to its
// retention limit in the same transaction. Statements are prepared once per table.
// Not thread-safe: lives on the engine's thread.

#include <QHash>
#include <QList>
#include <QObject>
#include <QString>

struct sqlite3;
struct sqlite3_stmt;

namespace ferry::rules {

class StoreDatabase : public QObject {
    Q_OBJECT
public:
    explicit StoreDatabase(const QString &path);
    ~StoreDatabase() override;

    bool open(QString *error);
    // Creates the table when missing. Table names are checked by the caller.
    bool ensureTable(const QString &table, qint64 maxRows, QString *error);
    void append(const QString &table, qint64 tsMs, const QString &rule, const QByteArray &json);
    // Writes what is buffered now; returns false with *error when the write failed.
    bool flush(QString *error = nullptr);
    qint64 rowCount(const QString &table); // for tests and ferryctl
    quint64 failedRows() const { return m_failedRows; }
    const QString &lastError() const { return m_lastError; }

private:
    struct Table {
        sqlite3_stmt *insert = nullptr;
        sqlite3_stmt *trim = nullptr;
        qint64 maxRows = 0;
    };
    struct Row {
        QString table;
        qint64 ts;
        QString rule;
        QByteArray json;
    };
    bool exec(const char *sql, QString *error);

    QString m_path;
    sqlite3 *m_db = nullptr;
    QHash<QString, Table> m_tables;
    QList<Row> m_pending;
    bool m_flushQueued = false;
    quint64 m_failedRows = 0;
    QString m_lastError;
};

} // namespace ferry::rules
