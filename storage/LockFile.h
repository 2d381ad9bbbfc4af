#pragma once
// An exclusive advisory lock (flock) on "<database>.lock", held for the Store's lifetime, so
// that two ferryd never write one database. The file holds the owner's pid for the message.
// SQLite's own locks only serialise transactions; they would let two brokers interleave.
//
// flock locks belong to the open file description: a second LockFile on the same path fails
// even inside the same process, and the kernel drops the lock when the process dies (kill -9).
#include <QString>

namespace ferry::storage {

class LockFile {
public:
    LockFile() = default;
    ~LockFile();
    LockFile(const LockFile &) = delete;
    LockFile &operator=(const LockFile &) = delete;

    // Returns an empty string on success, else a message naming the lock and its holder.
    QString acquire(const QString &databasePath);
    QString path() const { return m_path; }

private:
    int m_fd = -1;
    QString m_path;
};

} // namespace ferry::storage
