#pragma once
// A prepared SQLite statement, prepared once and reused (reset after every use).
//
// Contract: used on one thread at a time (the writer thread, or the opener before the writer
// starts). Every sqlite3 return code is returned to the caller; nothing is swallowed.
#include <QByteArray>

#include <cstdint>

struct sqlite3;
struct sqlite3_stmt;

namespace ferry::storage {

class Statement {
public:
    Statement() = default;
    ~Statement();
    Statement(const Statement &) = delete;
    Statement &operator=(const Statement &) = delete;
    Statement(Statement &&other) noexcept;
    Statement &operator=(Statement &&other) noexcept;

    // Returns the sqlite3 result code of sqlite3_prepare_v3 (SQLITE_PREPARE_PERSISTENT).
    int prepare(sqlite3 *db, const char *sql);
    bool isPrepared() const { return m_stmt != nullptr; }

    // Binding: index is 1-based as in SQLite. Blobs are copied (SQLITE_TRANSIENT) only when
    // the QByteArray might not outlive the step; we bind STATIC and reset before returning.
    int bind(int index, std::int64_t value);
    int bind(int index, const QByteArray &blob); // null QByteArray binds an empty blob
    int bindNull(int index);

    // SQLITE_ROW, SQLITE_DONE or an error code.
    int step();
    // Resets and clears bindings; always safe to call.
    void reset();
    // Runs a statement that returns no rows: step() then reset(); SQLITE_DONE becomes SQLITE_OK.
    int run();

    std::int64_t int64(int column) const;
    QByteArray blob(int column) const;
    bool isNull(int column) const;

private:
    sqlite3_stmt *m_stmt = nullptr;
};

} // namespace ferry::storage
