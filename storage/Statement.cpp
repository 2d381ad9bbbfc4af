#include "storage/Statement.h"

#include <sqlite3.h>

#include <utility>

namespace ferry::storage {

Statement::~Statement()
{
    sqlite3_finalize(m_stmt);
}

Statement::Statement(Statement &&other) noexcept : m_stmt(std::exchange(other.m_stmt, nullptr)) {}

Statement &Statement::operator=(Statement &&other) noexcept
{
    if (this != &other) {
        sqlite3_finalize(m_stmt);
        m_stmt = std::exchange(other.m_stmt, nullptr);
    }
    return *this;
}

int Statement::prepare(sqlite3 *db, const char *sql)
{
    sqlite3_finalize(m_stmt);
    m_stmt = nullptr;
    return sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &m_stmt, nullptr);
}

int Statement::bind(int index, std::int64_t value)
{
    return sqlite3_bind_int64(m_stmt, index, value);
}

int Statement::bind(int index, const QByteArray &blob)
{
    // SQLITE_STATIC: the caller keeps the array alive until reset(), which every user of
    // this class calls before the bound data goes out of scope (run() does it itself).
    return sqlite3_bind_blob64(m_stmt, index, blob.constData() ? blob.constData() : "",
                               sqlite3_uint64(blob.size()), SQLITE_STATIC);
}

int Statement::bindNull(int index)
{
    return sqlite3_bind_null(m_stmt, index);
}

int Statement::step()
{
    return sqlite3_step(m_stmt);
}

void Statement::reset()
{
    // The return code of reset repeats the last step's error, which the caller already has.
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
}

int Statement::run()
{
    const int rc = sqlite3_step(m_stmt);
    reset();
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

std::int64_t Statement::int64(int column) const
{
    return sqlite3_column_int64(m_stmt, column);
}

QByteArray Statement::blob(int column) const
{
    const void *data = sqlite3_column_blob(m_stmt, column);
    const int size = sqlite3_column_bytes(m_stmt, column);
    return data ? QByteArray(static_cast<const char *>(data), size) : QByteArray("");
}

bool Statement::isNull(int column) const
{
    return sqlite3_column_type(m_stmt, column) == SQLITE_NULL;
}

} // namespace ferry::storage
