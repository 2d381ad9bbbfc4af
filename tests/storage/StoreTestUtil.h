#pragma once
// Helpers shared by the storage tests: open a store in a temp dir, wait for completions.
#include "storage/Store.h"

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QTest>

#include <memory>

namespace ferry::storage {
// QTest prints statuses by name in failure messages (found by ADL).
inline char *toString(StorageStatus s)
{
    return qstrdup(statusName(s));
}
} // namespace ferry::storage

namespace ferry::storage::test {

inline StoreOptions options(const QString &path, SyncMode sync = SyncMode::Normal)
{
    StoreOptions o;
    o.path = path;
    o.sync = sync;
    return o;
}

inline std::unique_ptr<Store> mustOpen(const StoreOptions &o)
{
    OpenError err;
    auto store = Store::open(o, &err);
    if (!store)
        qWarning("open failed: %s", qPrintable(err.message));
    return store;
}

inline core::Message message(const QByteArray &topic, const QByteArray &payload, int qos = 1,
                             std::int64_t expiresAtMs = 0)
{
    core::Message m(topic, payload, std::uint8_t(qos));
    m.edit().timestampMs = 1700000000000;
    m.edit().expiresAtMs = expiresAtMs;
    return m;
}

// Records the statuses completions deliver, in arrival order.
struct Recorder {
    QList<StorageStatus> statuses;
    Completion add()
    {
        return [this](StorageStatus s) { statuses.append(s); };
    }
    // Spins the event loop until n completions arrived; false after timeoutMs (a hang, not
    // a timing assertion: the bound only keeps a broken writer from stalling the suite).
    bool waitFor(int n, int timeoutMs = 30000)
    {
        QDeadlineTimer deadline(timeoutMs);
        while (statuses.size() < n && !deadline.hasExpired())
            QTest::qWait(2);
        return statuses.size() >= n;
    }
    int count(StorageStatus s) const { return int(statuses.count(s)); }
};

} // namespace ferry::storage::test
