#pragma once
// The database schema and its forward migrations.
//
// The version lives in PRAGMA user_version. migrate() runs every step from the file's version
// up to kCurrentVersion inside ONE transaction (BEGIN IMMEDIATE ... COMMIT), so a crash or a
// failure mid-way leaves the file at its old version, untouched. A file from a newer Ferry
// (version > kCurrentVersion) is refused: we never write a schema we do not understand.
#include <QString>

struct sqlite3;

namespace ferry::storage::Schema {

constexpr int kCurrentVersion = 4;

// Migrates to `target` (kCurrentVersion except in tests that build an old file). Returns an
// empty string on success, else a description of what failed (with SQLite's message).
QString migrate(sqlite3 *db, int target = kCurrentVersion);

} // namespace ferry::storage::Schema
