#include "storage/Schema.h"

#include <sqlite3.h>

namespace ferry::storage::Schema {

namespace {

// Version 1. Why each shape:
// - messages: a body is stored once; `refs` counts the queue entries, retained and will rows
//   pointing at it, and the row is deleted in the same transaction as its last reference
//   (one DELETE when unshared, UPDATE + DELETE when shared). The alternative, a NOT EXISTS
//   cleanup query, needs an index on queue_entries(message_id): measured here (raw C API,
//   append + ack cycles, 256-byte payloads), that index wrote 28% more bytes per message at
//   10 rows per transaction, 27% at 100 and 7% at 1000. Bytes, not CPU, wear the SD card.
// - queue_entries: WITHOUT ROWID clustered on (queue_id, seq), so load() and the ack DELETE
//   are range/point lookups in the table itself. expires_at_ms is copied from the message so
//   that the periodic purge uses a small partial index instead of a join.
// - sessions/subscriptions/retained/wills: keyed by their natural keys, WITHOUT ROWID.
const char *const kVersion1 = R"sql(
CREATE TABLE messages(
  id INTEGER PRIMARY KEY,
  topic BLOB NOT NULL,
  payload BLOB NOT NULL,
  qos INTEGER NOT NULL,
  retain INTEGER NOT NULL,
  timestamp_ms INTEGER NOT NULL,
  expires_at_ms INTEGER NOT NULL,
  props BLOB NOT NULL,
  refs INTEGER NOT NULL);
CREATE INDEX messages_expiry ON messages(expires_at_ms) WHERE expires_at_ms > 0;
CREATE TABLE queues(
  id INTEGER PRIMARY KEY,
  name BLOB NOT NULL UNIQUE,
  kind INTEGER NOT NULL);
CREATE TABLE queue_entries(
  queue_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  message_id INTEGER NOT NULL,
  state INTEGER NOT NULL,
  packet_id INTEGER NOT NULL,
  qos INTEGER NOT NULL,
  retain INTEGER NOT NULL,
  tag BLOB NOT NULL,
  bytes INTEGER NOT NULL,
  expires_at_ms INTEGER NOT NULL,
  PRIMARY KEY(queue_id, seq)) WITHOUT ROWID;
CREATE INDEX queue_entries_expiry ON queue_entries(expires_at_ms) WHERE expires_at_ms > 0;
CREATE TABLE sessions(
  client_id BLOB PRIMARY KEY,
  expiry_interval INTEGER NOT NULL,
  disconnected_at_ms INTEGER NOT NULL,
  protocol_version INTEGER NOT NULL,
  props BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE subscriptions(
  client_id BLOB NOT NULL,
  filter BLOB NOT NULL,
  options INTEGER NOT NULL,
  subscription_id INTEGER NOT NULL,
  PRIMARY KEY(client_id, filter)) WITHOUT ROWID;
CREATE TABLE retained(
  topic BLOB PRIMARY KEY,
  message_id INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE wills(
  client_id BLOB PRIMARY KEY,
  message_id INTEGER NOT NULL,
  publish_at_ms INTEGER NOT NULL) WITHOUT ROWID;
)sql";

// Version 2: inbound QoS 2 packet ids (PUBREC sent, PUBREL not yet received) per client, so
// that a PUBLISH resent with the same id after a restart is not routed twice ("Method B",
// MQTT 5 4.3.3: until it has received the PUBREL the receiver MUST NOT cause duplicate
// messages to be delivered to any onward recipients, MQTT-4.3.3-10).
const char *const kVersion2 = R"sql(
CREATE TABLE inbound_qos2(
  client_id BLOB NOT NULL,
  packet_id INTEGER NOT NULL,
  PRIMARY KEY(client_id, packet_id)) WITHOUT ROWID;
)sql";

// Version 3: queue entries keyed by one increasing sequence over all queues (the rowid), with
// no per-queue index. Why: SQLite writes every b-tree page a commit touches to the WAL (and
// again at checkpoint). Appends to a rowid table at its end add one page now and then
// ("balance_quick"); appends to an index b-tree - the (queue_id, seq) key of version 1, or an
// index on queue_id - rebalance three sibling leaves on every split, and with many sessions
// receiving, one leaf per session per commit. Measured with this schema's rows (64-byte
// payloads, one commit per 100 messages): 11.3 -> 8.5 pages per commit with one queue, 59 ->
// 8.6 with 100 queues appended in turn. The price: reading one queue scans the table, so the
// start-up restore reads all queues in one scan (Store::loadAll), and dropping a queue scans.
// Rows are copied in (queue, old seq) order, so each queue keeps its order.
const char *const kVersion3 = R"sql(
CREATE TABLE queue_entries_v3(
  seq INTEGER PRIMARY KEY,
  queue_id INTEGER NOT NULL,
  message_id INTEGER NOT NULL,
  state INTEGER NOT NULL,
  packet_id INTEGER NOT NULL,
  qos INTEGER NOT NULL,
  retain INTEGER NOT NULL,
  tag BLOB NOT NULL,
  bytes INTEGER NOT NULL,
  expires_at_ms INTEGER NOT NULL);
INSERT INTO queue_entries_v3(queue_id, message_id, state, packet_id, qos, retain, tag, bytes,
                             expires_at_ms)
  SELECT queue_id, message_id, state, packet_id, qos, retain, tag, bytes, expires_at_ms
  FROM queue_entries ORDER BY queue_id, seq;
DROP TABLE queue_entries;
ALTER TABLE queue_entries_v3 RENAME TO queue_entries;
CREATE INDEX queue_entries_expiry ON queue_entries(expires_at_ms) WHERE expires_at_ms > 0;
)sql";

// Version 4: a message that goes to one queue only (the usual case: one offline session) is
// stored inside its entry row (message_id = 0) instead of a messages row plus an entry row:
// one row and one b-tree per append instead of two. Measured with this schema's rows (64-byte
// payloads, 100 per commit, one queue): 8.5 -> 6.4 pages per commit, about 20% fewer bytes.
// Bodies shared by several queues, retained messages and wills stay in messages.
// msg_flags holds the message's own QoS (bits 0-1) and retain flag (bit 2); the entry's qos and
// retain columns are the delivery's.
const char *const kVersion4 = R"sql(
ALTER TABLE queue_entries ADD COLUMN topic BLOB;
ALTER TABLE queue_entries ADD COLUMN payload BLOB;
ALTER TABLE queue_entries ADD COLUMN timestamp_ms INTEGER;
ALTER TABLE queue_entries ADD COLUMN props BLOB;
ALTER TABLE queue_entries ADD COLUMN msg_flags INTEGER;
)sql";

// Index i holds the SQL that takes version i to version i + 1.
const char *const kSteps[] = {kVersion1, kVersion2, kVersion3, kVersion4};
static_assert(sizeof(kSteps) / sizeof(kSteps[0]) == kCurrentVersion);

QString sqliteError(sqlite3 *db, const char *what)
{
    return QStringLiteral("%1: %2 (sqlite code %3)")
        .arg(QString::fromLatin1(what), QString::fromUtf8(sqlite3_errmsg(db)))
        .arg(sqlite3_extended_errcode(db));
}

int readVersion(sqlite3 *db, int *version)
{
    sqlite3_stmt *stmt = nullptr;
    int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW) {
            *version = sqlite3_column_int(stmt, 0);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(stmt);
    return rc;
}

} // namespace

QString migrate(sqlite3 *db, int target)
{
    // IMMEDIATE: take the write lock first, so that the version we read is the one we upgrade.
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
        return sqliteError(db, "cannot start the schema transaction");
    int version = 0;
    if (readVersion(db, &version) != SQLITE_OK) {
        const QString e = sqliteError(db, "cannot read the schema version");
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        return e;
    }
    if (version > kCurrentVersion) {
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        return QStringLiteral("schema version %1 is newer than this Ferry understands (%2); "
                              "run a newer ferryd or restore a matching backup")
            .arg(version)
            .arg(kCurrentVersion);
    }
    for (int v = version; v < target; ++v) {
        if (sqlite3_exec(db, kSteps[v], nullptr, nullptr, nullptr) != SQLITE_OK) {
            const QString e = sqliteError(db, "schema migration failed");
            sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
            return e;
        }
    }
    if (version < target) {
        const QByteArray set = "PRAGMA user_version = " + QByteArray::number(target);
        if (sqlite3_exec(db, set.constData(), nullptr, nullptr, nullptr) != SQLITE_OK) {
            const QString e = sqliteError(db, "cannot set the schema version");
            sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
            return e;
        }
    }
    if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
        const QString e = sqliteError(db, "cannot commit the schema");
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        return e;
    }
    return QString();
}

} // namespace ferry::storage::Schema
