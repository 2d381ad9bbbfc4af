#include "storage/FileCheck.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

#include <cstring>

namespace ferry::storage::FileCheck {

namespace {

// https://www.sqlite.org/fileformat2.html#the_database_header
constexpr int kHeaderSize = 100;
constexpr char kMagic[] = "SQLite format 3"; // followed by a NUL: 16 bytes

quint32 be32(const unsigned char *p)
{
    return (quint32(p[0]) << 24) | (quint32(p[1]) << 16) | (quint32(p[2]) << 8) | quint32(p[3]);
}

QString refuse(const QString &path, const QString &problem)
{
    return QStringLiteral("%1: %2. Ferry will not start over it; restore the file from a "
                          "backup, or move it away to start with an empty store, or set "
                          "[storage] path to another file")
        .arg(path, problem);
}

} // namespace

QString check(const QString &path)
{
    if (path.isEmpty())
        return QStringLiteral("[storage] path is empty: set it to a database file");
    const QFileInfo info(path);
    const QString dir = info.absolutePath();
    if (!QDir().mkpath(dir))
        return QStringLiteral("%1: cannot create the directory %2: check that no file is in "
                              "the way and that ferryd may write there")
            .arg(path, dir);
    if (!info.exists()) {
        if (info.isSymLink())
            return refuse(path, QStringLiteral("is a dangling symbolic link"));
        return QString();
    }
    if (info.isDir())
        return refuse(path, QStringLiteral("is a directory, not a database file"));
    if (!info.isFile())
        return refuse(path, QStringLiteral("is not a regular file"));

    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return QStringLiteral("%1: cannot read the database file (%2): check its owner and "
                              "permissions")
            .arg(path, file.errorString());
    const qint64 size = file.size();
    if (size == 0) {
        const QFileInfo wal(path + QStringLiteral("-wal"));
        if (wal.exists() && wal.size() > 0)
            return refuse(path, QStringLiteral("is empty but its write-ahead log %1-wal holds "
                                               "data (the file was truncated)")
                                    .arg(path));
        return QString();
    }
    const QByteArray header = file.read(kHeaderSize);
    if (header.size() < int(sizeof kMagic) ||
        std::memcmp(header.constData(), kMagic, sizeof kMagic) != 0)
        return refuse(path, QStringLiteral("is not a SQLite database (it does not start with "
                                           "the SQLite header)"));
    if (header.size() < kHeaderSize)
        return refuse(path, QStringLiteral("is truncated (%1 bytes, shorter than the SQLite "
                                           "header)")
                                .arg(size));
    const auto *h = reinterpret_cast<const unsigned char *>(header.constData());
    quint32 pageSize = (quint32(h[16]) << 8) | h[17];
    if (pageSize == 1)
        pageSize = 65536;
    if (pageSize < 512 || (pageSize & (pageSize - 1)) != 0)
        return refuse(
            path, QStringLiteral("is not a valid SQLite database (page size %1)").arg(pageSize));
    // The in-header page count is valid when "version-valid-for" equals the change counter.
    const quint32 changeCounter = be32(h + 24);
    const quint32 pages = be32(h + 28);
    const quint32 validFor = be32(h + 92);
    if (validFor == changeCounter && pages > 0 && qint64(pages) * pageSize > size)
        return refuse(path, QStringLiteral("is truncated (%1 bytes, its header says %2)")
                                .arg(size)
                                .arg(qint64(pages) * pageSize));
    return QString();
}

} // namespace ferry::storage::FileCheck
