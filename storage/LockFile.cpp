#include "storage/LockFile.h"

#include <QByteArray>
#include <QFile>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace ferry::storage {

LockFile::~LockFile()
{
    if (m_fd >= 0)
        ::close(m_fd); // releases the flock; the file stays (removing it would race a waiter)
}

QString LockFile::acquire(const QString &databasePath)
{
    m_path = databasePath + QStringLiteral(".lock");
    const QByteArray native = QFile::encodeName(m_path);
    const int fd = ::open(native.constData(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return QStringLiteral("%1: cannot open the lock file %2 (%3): check that ferryd may "
                              "write in that directory")
            .arg(databasePath, m_path, QString::fromLocal8Bit(std::strerror(errno)));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        char buf[32] = {};
        const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
        ::close(fd);
        const QByteArray holder = n > 0 ? QByteArray(buf, int(n)).trimmed() : QByteArray("?");
        if (err == EWOULDBLOCK)
            return QStringLiteral("%1: the database is in use by another ferryd (pid %2 holds "
                                  "%3): stop that process or set [storage] path to another "
                                  "file")
                .arg(databasePath, QString::fromLatin1(holder), m_path);
        return QStringLiteral("%1: cannot lock %2 (%3)")
            .arg(databasePath, m_path, QString::fromLocal8Bit(std::strerror(err)));
    }
    const QByteArray pid = QByteArray::number(qint64(::getpid())) + '\n';
    // The pid is informational: failing to write it does not weaken the lock.
    if (::ftruncate(fd, 0) == 0) {
        [[maybe_unused]] const ssize_t written =
            ::pwrite(fd, pid.constData(), size_t(pid.size()), 0);
    }
    m_fd = fd;
    return QString();
}

} // namespace ferry::storage
