#include "rules/StoreDatabase.h"

#include "rules/Logging.h"

#include <QDir>
#include <QFileInfo>
#include <QTimer>

#include <sqlite3.h>

namespace ferry::rules {

StoreDatabase::StoreDatabase(const QString &path) : m_path(path) {}

StoreDatabase::~StoreDatabase()
{
    flush();
    for (Table &t : m_tables) {
        sqlite3_finalize(t.insert);
        sqlite3_finalize(t.trim);
    }
    if (m_db)
        sqlite3_close(m_db);
}

bool StoreDatabase::exec(const char *sql, QString *error)
{
    char *msg = nullptr;
    if (sqlite3_exec(m_db, sql, nullptr, nullptr, &msg) == SQLITE_OK)
        return true;
    if (error)
        *error = QString::fromUtf8(msg ? msg : sqlite3_errmsg(m_db));
    sqlite3_free(msg);
    return false;
}

bool StoreDatabase::open(QString *error)
{
    if (m_db)
        return true;
    const QString dir = QFileInfo(m_path).absolutePath();
    QDir().mkpath(dir);
    if (sqlite3_open_v2(m_path.toUtf8().constData(), &m_db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
        *error = QString("cannot open %1: %2").arg(m_path, QString::fromUtf8(sqlite3_errmsg(m_db)));
        sqlite3_close(m_db);
        m_db = nullptr;
        return false;
    }
    sqlite3_busy_timeout(m_db, 100);
    return exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", error);
}

bool StoreDatabase::ensureTable(const QString &table, qint64 maxRows, QString *error)
{
    auto it = m_tables.find(table);
    if (it != m_tables.end()) {
        it->maxRows = qMax(it->maxRows, maxRows);
        return true;
    }
    const QByteArray create = QString("CREATE TABLE IF NOT EXISTS \"%1\" (id INTEGER PRIMARY KEY "
                                      "AUTOINCREMENT, ts INTEGER NOT NULL, rule TEXT NOT NULL, "
                                      "data TEXT NOT NULL)")
                                  .arg(table)
                                  .toUtf8();
    if (!exec(create.constData(), error))
        return false;
    Table t;
    t.maxRows = maxRows;
    const QByteArray ins =
        QString("INSERT INTO \"%1\"(ts, rule, data) VALUES(?, ?, ?)").arg(table).toUtf8();
    const QByteArray trim =
        QString("DELETE FROM \"%1\" WHERE id <= (SELECT MAX(id) FROM \"%1\") - ?")
            .arg(table)
            .toUtf8();
    if (sqlite3_prepare_v2(m_db, ins.constData(), -1, &t.insert, nullptr) != SQLITE_OK ||
        sqlite3_prepare_v2(m_db, trim.constData(), -1, &t.trim, nullptr) != SQLITE_OK) {
        *error = QString::fromUtf8(sqlite3_errmsg(m_db));
        sqlite3_finalize(t.insert);
        sqlite3_finalize(t.trim);
        return false;
    }
    m_tables.insert(table, t);
    return true;
}

void StoreDatabase::append(const QString &table, qint64 tsMs, const QString &rule,
                           const QByteArray &json)
{
    m_pending.append({table, tsMs, rule, json});
    if (!m_flushQueued) {
        m_flushQueued = true;
        QTimer::singleShot(0, this, [this] { flush(); });
    }
}

bool StoreDatabase::flush(QString *error)
{
    m_flushQueued = false;
    if (m_pending.isEmpty() || !m_db)
        return true;
    QList<Row> rows;
    rows.swap(m_pending);
    QString err;
    bool ok = exec("BEGIN", &err);
    QSet<QString> touched;
    for (const Row &r : rows) {
        if (!ok)
            break;
        Table &t = m_tables[r.table];
        const QByteArray rule = r.rule.toUtf8();
        sqlite3_bind_int64(t.insert, 1, r.ts);
        sqlite3_bind_text(t.insert, 2, rule.constData(), int(rule.size()), SQLITE_TRANSIENT);
        sqlite3_bind_text(t.insert, 3, r.json.constData(), int(r.json.size()), SQLITE_TRANSIENT);
        ok = sqlite3_step(t.insert) == SQLITE_DONE;
        sqlite3_reset(t.insert);
        touched.insert(r.table);
    }
    for (const QString &name : touched) {
        Table &t = m_tables[name];
        if (!ok || t.maxRows <= 0)
            continue;
        sqlite3_bind_int64(t.trim, 1, t.maxRows);
        ok = sqlite3_step(t.trim) == SQLITE_DONE;
        sqlite3_reset(t.trim);
    }
    if (ok)
        ok = exec("COMMIT", &err);
    if (!ok) {
        if (err.isEmpty())
            err = QString::fromUtf8(sqlite3_errmsg(m_db));
        exec("ROLLBACK", nullptr);
        m_failedRows += quint64(rows.size());
        m_lastError = err;
        qCWarning(lcRules, "store=%s rows=%lld error=\"%s\"", qUtf8Printable(m_path),
                  qint64(rows.size()), qUtf8Printable(err));
        if (error)
            *error = err;
    }
    return ok;
}

qint64 StoreDatabase::rowCount(const QString &table)
{
    flush();
    sqlite3_stmt *st = nullptr;
    const QByteArray sql = QString("SELECT COUNT(*) FROM \"%1\"").arg(table).toUtf8();
    qint64 n = -1;
    if (sqlite3_prepare_v2(m_db, sql.constData(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

} // namespace ferry::rules
