#pragma once
// Checks a database path before SQLite sees it, so that bad files get a clear message instead
// of SQLite's "file is not a database" at the first query, or worse, a fresh empty database
// created over the user's data.
//
// What it refuses: a directory or special file in place of the database, a file we cannot
// read, a file whose header is not SQLite's, a file shorter than its header says (truncated),
// an empty file next to a non-empty WAL. A missing file or an empty one without a WAL is new.
#include <QString>

namespace ferry::storage::FileCheck {

// Creates the parent directory if missing. Returns an empty string when SQLite may open the
// path, else a message that names the file and says what to do.
QString check(const QString &path);

} // namespace ferry::storage::FileCheck
