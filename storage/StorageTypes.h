#pragma once
// Plain value types of the storage API (ferry::storage::Store). No SQLite here: callers never
// see sqlite3 types, so the broker links storage without knowing its engine.
#include "core/Message.h"

#include <QByteArray>
#include <QList>
#include <QString>

#include <cstdint>
#include <functional>

namespace ferry::storage {

// PRAGMA synchronous, chosen by `[storage] sync`. With WAL:
//  Full   - every commit is fsynced: survives power loss and kill -9.
//  Normal - the WAL is fsynced at checkpoints only: survives kill -9 (the OS has the data),
//           a power loss may roll back the last commits, never corrupts.
//  Off    - no fsync at all: survives kill -9, a power loss may corrupt the database.
enum class SyncMode { Full, Normal, Off };

struct StoreOptions {
    QString path; // the database file; its directory is created if missing
    SyncMode sync = SyncMode::Full;
    // Whole-store budget in bytes for the main database file (0 = none). New data is refused
    // with StorageStatus::Full once the used pages reach budget - reserve; deletes may use the
    // reserve, so that a full store can always be drained (FINDINGS.md: on a full disk even
    // DELETE fails). The WAL adds up to walLimitBytes on top.
    std::uint64_t maxDiskBytes = 0;
    std::uint64_t reserveBytes = 256 * 1024;
    std::uint64_t walLimitBytes = 4 * 1024 * 1024;
    // How long open() waits for another process's SQLite lock before failing.
    int busyTimeoutMs = 2000;
    // PRAGMA quick_check on open: catches truncated and damaged files before we write to them.
    // O(size of the database); turn off only for very large stores on slow cards.
    bool checkOnOpen = true;
    // How often the Store deletes expired Queued entries and retained messages by itself, on
    // its owner thread's event loop (0 = never; then call Store::purgeExpired yourself).
    int purgeIntervalMs = 60000;
};

struct OpenError {
    QString message; // names the file and says what to do; empty on success
};

// The outcome of one asynchronous write, delivered after its batch's COMMIT (or failure).
enum class StorageStatus : std::uint8_t {
    Ok,
    Full,     // disk or budget exhausted: refuse durable work (MQTT 5 reason 0x97)
    Busy,     // another process holds the SQLite lock
    IoError,  // the OS failed a read/write/fsync
    Corrupt,  // the file is damaged
    Closed,   // the store was shut down before the write ran
    NotFound, // the queue or entry does not exist (nothing was changed)
    Error,    // any other SQLite failure (logged with its code)
};
const char *statusName(StorageStatus s);

using Completion = std::function<void(StorageStatus)>;

enum class QueueKind : std::uint8_t { MqttSession = 1, BridgeOutbox = 2, AmqpQueue = 3 };

// State of one queue entry. Inflight = sent, awaiting PUBACK (QoS 1) or PUBREC (QoS 2);
// Released = PUBREL sent, awaiting PUBCOMP: after a restart the sender resends PUBREL, not the
// PUBLISH ("MUST NOT re-send the PUBLISH once it has sent the corresponding PUBREL", 4.3.3).
enum class EntryState : std::uint8_t { Queued = 0, Inflight = 1, Released = 2 };

// What differs per receiver of one stored message body: the QoS and RETAIN flag to send, and
// an opaque tag the caller encodes itself (e.g. subscription identifiers, share group).
struct EntryMeta {
    std::uint8_t qos = 0;
    bool retain = false;
    QByteArray tag;
};

struct QueueTarget {
    std::uint64_t queueId = 0;
    EntryMeta meta;
};

struct StoredEntry {
    std::uint64_t seq = 0;
    core::Message message;    // id() is 0: the broker assigns its own ids
    std::uint64_t bodyId = 0; // the shared body's messages row; 0: the body is in the entry row
    EntryMeta meta;
    EntryState state = EntryState::Queued;
    std::uint16_t packetId = 0;
};

struct QueueInfo {
    std::uint64_t id = 0;
    QByteArray name;
    QueueKind kind = QueueKind::MqttSession;
    std::uint64_t entries = 0; // rows, including expired ones not yet purged
    std::uint64_t bytes = 0;   // topic + payload bytes of those rows
};

struct StoredSession {
    QByteArray clientId;
    std::uint32_t expiryInterval = 0;  // seconds; 0xFFFFFFFF = never
    std::int64_t disconnectedAtMs = 0; // 0 = was connected when last saved
    std::uint8_t protocolVersion = 0;  // 4 = 3.1.1, 5 = 5.0
    QByteArray props;                  // opaque to storage
};

struct StoredSubscription {
    QByteArray clientId;
    QByteArray filter;         // as subscribed, including a $share/<group>/ prefix
    std::uint32_t options = 0; // opaque to storage (the MQTT options byte or a richer encoding)
    std::uint32_t subscriptionId = 0;
};

// An inbound QoS 2 PUBLISH whose PUBREC was sent and whose PUBREL has not arrived yet.
struct StoredInboundId {
    QByteArray clientId;
    std::uint16_t packetId = 0;
};

struct StoredWill {
    QByteArray clientId;
    core::Message message;
    std::int64_t publishAtMs = 0;
};

struct PurgeResult {
    std::uint64_t entries = 0;  // expired queued entries deleted
    std::uint64_t retained = 0; // expired retained messages deleted
};

struct StoreStats {
    std::uint64_t messageRows = 0; // bodies stored
    std::uint64_t entryRows = 0;   // queue entries across all queues
    std::uint64_t usedBytes = 0;   // pages in use x page size (main file)
    std::uint64_t budgetBytes = 0; // 0 = none
    std::uint64_t batches = 0;     // committed transactions
    std::uint64_t operations = 0;  // writes carried by them
    std::uint64_t lastBatchSize = 0;
    std::uint64_t maxBatchSize = 0;
    std::uint64_t refusedFull = 0;   // writes answered Full
    std::uint64_t failures = 0;      // writes answered anything but Ok/Full/NotFound
    std::uint64_t purgedEntries = 0; // expired entries removed by purgeExpired
};

} // namespace ferry::storage
