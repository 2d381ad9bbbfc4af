#include "storage/StoreDb.h"

#include "storage/PropsCodec.h"
#include "storage/StorageLog.h"

#include <QVarLengthArray>

#include <sqlite3.h>

#include <vector>

namespace ferry::storage {

namespace {

constexpr const char *kMessageColumns =
    "m.id, m.topic, m.payload, m.qos, m.retain, m.timestamp_ms, m.expires_at_ms, m.props";
// The same columns for a queue entry `e` LEFT JOINed with messages `m`: the body is in m when
// shared, else in the entry itself (schema version 4).
constexpr const char *kEntryMessageColumns =
    "COALESCE(m.id, 0), COALESCE(m.topic, e.topic), COALESCE(m.payload, e.payload), "
    "COALESCE(m.qos, e.msg_flags & 3), COALESCE(m.retain, e.msg_flags >> 2), "
    "COALESCE(m.timestamp_ms, e.timestamp_ms), e.expires_at_ms, COALESCE(m.props, e.props)";

struct Sql {
    Statement StoreDb::*statement;
    QByteArray text;
};

} // namespace

namespace {
template <class F> StorageStatus readAll(StoreDb &db, Statement &st, const char *what, F &&row)
{
    int rc;
    while ((rc = st.step()) == SQLITE_ROW)
        row();
    st.reset();
    return db.check(rc, what);
}
} // namespace

StoreDb::StoreDb(sqlite3 *db) : m_db(db) {}

StoreDb::~StoreDb()
{
    // The statements are finalized by their destructors after this body; sqlite3_close_v2
    // closes the connection once the last of them is gone. Pending WAL content stays valid.
    const int rc = sqlite3_close_v2(m_db);
    if (rc != SQLITE_OK)
        qCWarning(lcStorage).nospace() << "event=close_failed code=" << rc;
}

QString StoreDb::prepare()
{
    const QByteArray cols(kMessageColumns);
    const QByteArray entryCols(kEntryMessageColumns);
    const Sql all[] = {
        {&StoreDb::m_begin, "BEGIN IMMEDIATE"},
        {&StoreDb::m_commit, "COMMIT"},
        {&StoreDb::m_rollback, "ROLLBACK"},
        {&StoreDb::m_savepoint, "SAVEPOINT op"},
        {&StoreDb::m_release, "RELEASE op"},
        {&StoreDb::m_rollbackTo, "ROLLBACK TO op"},
        {&StoreDb::m_pageCount, "PRAGMA page_count"},
        {&StoreDb::m_freelistCount, "PRAGMA freelist_count"},
        {&StoreDb::m_insertMessage,
         "INSERT INTO messages(topic, payload, qos, retain, timestamp_ms, expires_at_ms, props, "
         "refs) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"},
        {&StoreDb::m_releaseMessage, "UPDATE messages SET refs = refs - 1 WHERE id = ?1"},
        {&StoreDb::m_deleteMessageIfUnused, "DELETE FROM messages WHERE id = ?1 AND refs <= 1"},
        {&StoreDb::m_insertEntry,
         "INSERT INTO queue_entries(queue_id, seq, message_id, state, packet_id, qos, retain, "
         "tag, bytes, expires_at_ms, topic, payload, timestamp_ms, props, msg_flags) "
         "VALUES(?1, ?2, ?3, ?9, ?10, ?4, ?5, ?6, ?7, ?8, ?11, ?12, ?13, ?14, ?15)"},
        // seq is the rowid (schema version 3): a point lookup; queue_id only guards.
        {&StoreDb::m_setEntryState,
         "UPDATE queue_entries SET state = ?3, packet_id = ?4 WHERE seq = ?2 AND queue_id = ?1"},
        {&StoreDb::m_deleteEntry,
         "DELETE FROM queue_entries WHERE seq = ?2 AND queue_id = ?1 RETURNING message_id"},
        {&StoreDb::m_deleteQueueEntries,
         "DELETE FROM queue_entries WHERE queue_id = ?1 RETURNING message_id"},
        {&StoreDb::m_deleteQueue, "DELETE FROM queues WHERE id = ?1"},
        {&StoreDb::m_insertQueue,
         "INSERT OR IGNORE INTO queues(id, name, kind) VALUES(?1, ?2, ?3)"},
        {&StoreDb::m_loadEntries,
         "SELECT " + entryCols +
             ", e.seq, e.state, e.packet_id, e.qos, e.retain, e.tag FROM queue_entries e "
             "LEFT JOIN messages m ON m.id = e.message_id WHERE e.queue_id = ?1 AND "
             "(e.state <> 0 OR e.expires_at_ms = 0 OR e.expires_at_ms > ?2) ORDER BY e.seq"},
        // Every queue in one pass over the table, in seq order (so in each queue's order).
        {&StoreDb::m_loadAllEntries,
         "SELECT " + entryCols +
             ", e.seq, e.state, e.packet_id, e.qos, e.retain, e.tag, e.queue_id FROM "
             "queue_entries e LEFT JOIN messages m ON m.id = e.message_id WHERE "
             "(e.state <> 0 OR e.expires_at_ms = 0 OR e.expires_at_ms > ?1) ORDER BY e.seq"},
        {&StoreDb::m_listQueues,
         "SELECT q.id, q.name, q.kind, COALESCE(c.n, 0), COALESCE(c.bytes, 0) FROM queues q "
         "LEFT JOIN (SELECT queue_id, COUNT(*) AS n, SUM(bytes) AS bytes FROM queue_entries "
         "GROUP BY queue_id) c ON c.queue_id = q.id ORDER BY q.id"},
        {&StoreDb::m_upsertSession,
         "INSERT OR REPLACE INTO sessions(client_id, expiry_interval, disconnected_at_ms, "
         "protocol_version, props) VALUES(?1, ?2, ?3, ?4, ?5)"},
        {&StoreDb::m_deleteSession, "DELETE FROM sessions WHERE client_id = ?1"},
        {&StoreDb::m_deleteSessionSubs, "DELETE FROM subscriptions WHERE client_id = ?1"},
        {&StoreDb::m_listSessions,
         "SELECT client_id, expiry_interval, disconnected_at_ms, protocol_version, props FROM "
         "sessions ORDER BY client_id"},
        {&StoreDb::m_upsertSub,
         "INSERT OR REPLACE INTO subscriptions(client_id, filter, options, subscription_id) "
         "VALUES(?1, ?2, ?3, ?4)"},
        {&StoreDb::m_deleteSub, "DELETE FROM subscriptions WHERE client_id = ?1 AND filter = ?2"},
        {&StoreDb::m_listSubs,
         "SELECT client_id, filter, options, subscription_id FROM subscriptions "
         "ORDER BY client_id, filter"},
        {&StoreDb::m_deleteRetained, "DELETE FROM retained WHERE topic = ?1 RETURNING message_id"},
        {&StoreDb::m_insertRetained, "INSERT INTO retained(topic, message_id) VALUES(?1, ?2)"},
        {&StoreDb::m_listRetained,
         "SELECT " + cols +
             " FROM retained r JOIN messages m ON m.id = r.message_id "
             "WHERE m.expires_at_ms = 0 OR m.expires_at_ms > ?1 ORDER BY r.topic"},
        {&StoreDb::m_deleteWill, "DELETE FROM wills WHERE client_id = ?1 RETURNING message_id"},
        {&StoreDb::m_insertWill,
         "INSERT INTO wills(client_id, message_id, publish_at_ms) VALUES(?1, ?2, ?3)"},
        {&StoreDb::m_listWills,
         "SELECT " + cols +
             ", w.client_id, w.publish_at_ms FROM wills w JOIN messages m ON m.id = "
             "w.message_id ORDER BY w.client_id"},
        {&StoreDb::m_insertInbound,
         "INSERT OR IGNORE INTO inbound_qos2(client_id, packet_id) VALUES(?1, ?2)"},
        {&StoreDb::m_deleteInbound,
         "DELETE FROM inbound_qos2 WHERE client_id = ?1 AND packet_id = ?2"},
        {&StoreDb::m_deleteSessionInbound, "DELETE FROM inbound_qos2 WHERE client_id = ?1"},
        {&StoreDb::m_listInbound,
         "SELECT client_id, packet_id FROM inbound_qos2 ORDER BY client_id, packet_id"},
        // [MQTT-3.3.2-5] "If the Message Expiry Interval has passed and the Server has not
        // managed to start onward delivery to a matching subscriber, then it MUST delete the
        // copy of the message for that subscriber": only Queued entries (state 0) expire.
        {&StoreDb::m_expiredEntries,
         "DELETE FROM queue_entries WHERE expires_at_ms > 0 AND expires_at_ms <= ?1 AND "
         "state = 0 RETURNING message_id"},
        {&StoreDb::m_expiredRetained,
         "DELETE FROM retained WHERE message_id IN (SELECT id FROM messages WHERE "
         "expires_at_ms > 0 AND expires_at_ms <= ?1) RETURNING message_id"},
    };
    for (const Sql &s : all) {
        if ((this->*s.statement).prepare(m_db, s.text.constData()) != SQLITE_OK)
            return QStringLiteral("cannot prepare \"%1\": %2")
                .arg(QString::fromUtf8(s.text), QString::fromUtf8(sqlite3_errmsg(m_db)));
    }
    std::int64_t pageSize = 0;
    Statement ps;
    if (ps.prepare(m_db, "PRAGMA page_size") != SQLITE_OK ||
        pragmaInt(ps, &pageSize) != StorageStatus::Ok)
        return QStringLiteral("cannot read the page size: %1")
            .arg(QString::fromUtf8(sqlite3_errmsg(m_db)));
    m_pageSize = std::uint64_t(pageSize);
    return QString();
}

StorageStatus StoreDb::check(int rc, const char *what)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return StorageStatus::Ok;
    default:
        break;
    }
    qCWarning(lcStorage).noquote().nospace() << "event=sqlite_error op=" << what << " code=" << rc
                                             << " message=\"" << sqlite3_errmsg(m_db) << '"';
    switch (rc & 0xff) {
    case SQLITE_FULL:
        return StorageStatus::Full;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return StorageStatus::Busy;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
        return StorageStatus::IoError;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return StorageStatus::Corrupt;
    default:
        return StorageStatus::Error;
    }
}

StorageStatus StoreDb::begin()
{
    return check(m_begin.run(), "begin");
}

StorageStatus StoreDb::commit()
{
    return check(m_commit.run(), "commit");
}

void StoreDb::rollback()
{
    // After some errors SQLite has already rolled back; then ROLLBACK says "no transaction".
    if (!sqlite3_get_autocommit(m_db))
        check(m_rollback.run(), "rollback");
}

StorageStatus StoreDb::savepoint()
{
    return check(m_savepoint.run(), "savepoint");
}

void StoreDb::release()
{
    check(m_release.run(), "release");
}

bool StoreDb::inTransaction() const
{
    return !sqlite3_get_autocommit(m_db);
}

void StoreDb::rollbackToSavepoint()
{
    if (!sqlite3_get_autocommit(m_db)) {
        check(m_rollbackTo.run(), "rollback_to");
        check(m_release.run(), "release");
    }
}

StorageStatus StoreDb::pragmaInt(Statement &st, std::int64_t *value)
{
    const int rc = st.step();
    if (rc == SQLITE_ROW)
        *value = st.int64(0);
    st.reset();
    return rc == SQLITE_ROW ? StorageStatus::Ok : check(rc, "pragma");
}

std::uint64_t StoreDb::usedBytes()
{
    std::int64_t pages = 0, free = 0;
    if (pragmaInt(m_pageCount, &pages) != StorageStatus::Ok ||
        pragmaInt(m_freelistCount, &free) != StorageStatus::Ok)
        return 0;
    return std::uint64_t(pages - free) * m_pageSize;
}

StorageStatus StoreDb::setBudget(std::uint64_t budgetBytes, std::uint64_t reserveBytes)
{
    // SQLite's own maximum page count: "no budget" restores it.
    const std::uint64_t hard = budgetBytes ? budgetBytes / m_pageSize : 0xFFFFFFFEull;
    const QByteArray sql = "PRAGMA max_page_count = " + QByteArray::number(hard);
    // The pragma answers with the resulting limit, which is never below the current size.
    StorageStatus st =
        check(sqlite3_exec(m_db, sql.constData(), nullptr, nullptr, nullptr), "max_page_count");
    if (st != StorageStatus::Ok)
        return st;
    m_budgetPages = budgetBytes ? hard : 0;
    const std::uint64_t reservePages = (reserveBytes + m_pageSize - 1) / m_pageSize;
    m_softPages = m_budgetPages > reservePages ? m_budgetPages - reservePages : 1;
    return StorageStatus::Ok;
}

StorageStatus StoreDb::roomForInsert()
{
    if (m_budgetPages == 0)
        return StorageStatus::Ok;
    std::int64_t pages = 0, free = 0;
    StorageStatus st = pragmaInt(m_pageCount, &pages);
    if (st == StorageStatus::Ok)
        st = pragmaInt(m_freelistCount, &free);
    if (st != StorageStatus::Ok)
        return st;
    return std::uint64_t(pages - free) >= m_softPages ? StorageStatus::Full : StorageStatus::Ok;
}

StorageStatus StoreDb::insertMessage(const core::Message &m, std::int64_t refs, std::int64_t *id)
{
    const core::MessageData &d = m.data();
    const QByteArray props = PropsCodec::encode(d);
    Statement &st = m_insertMessage;
    st.bind(1, d.topic);
    st.bind(2, d.payload);
    st.bind(3, std::int64_t(d.qos));
    st.bind(4, std::int64_t(d.retain));
    st.bind(5, std::int64_t(d.timestampMs));
    st.bind(6, std::int64_t(d.expiresAtMs));
    st.bind(7, props);
    st.bind(8, refs);
    const StorageStatus s = check(st.run(), "insert_message");
    if (s == StorageStatus::Ok) {
        *id = sqlite3_last_insert_rowid(m_db);
        ++m_pending.messages;
    }
    return s;
}

StorageStatus StoreDb::releaseMessage(std::int64_t id)
{
    if (id == 0)
        return StorageStatus::Ok; // the body was inside the entry row, gone with it
    // Most bodies have one reference (one queue, or retained, or a will): try the DELETE first,
    // so that the common case is one statement; only shared bodies need the UPDATE.
    m_deleteMessageIfUnused.bind(1, id);
    StorageStatus s = check(m_deleteMessageIfUnused.run(), "delete_message");
    if (s != StorageStatus::Ok)
        return s;
    if (sqlite3_changes(m_db) > 0) {
        --m_pending.messages;
        return s;
    }
    m_releaseMessage.bind(1, id);
    return check(m_releaseMessage.run(), "release_message");
}

StorageStatus StoreDb::append(const QList<QueueTarget> &targets, const QList<std::uint64_t> &seqs,
                              const core::Message &message, PendingEntries &pending)
{
    Q_ASSERT(targets.size() == seqs.size() && !targets.isEmpty());
    // Claim first: the body's reference count is the number of entries really written.
    constexpr qsizetype kInline = 8;
    struct Claim {
        EntryState state;
        std::uint16_t packetId;
        bool write;
    };
    QVarLengthArray<Claim, kInline> claims(targets.size());
    std::int64_t refs = 0;
    for (qsizetype i = 0; i < targets.size(); ++i) {
        claims[i].write = pending.claim(i, &claims[i].state, &claims[i].packetId);
        refs += claims[i].write ? 1 : 0;
    }
    if (refs == 0)
        return StorageStatus::Ok;   // every entry was acknowledged before it was written
    StorageStatus s = roomForInsert();
    // One entry: the body goes into the entry row (id 0, see Schema.cpp version 4).
    const bool inlineBody = refs == 1;
    std::int64_t id = 0;
    if (s == StorageStatus::Ok && !inlineBody)
        s = insertMessage(message, refs, &id);
    const std::int64_t bytes = message.topic().size() + message.payload().size();
    const QByteArray props = inlineBody ? PropsCodec::encode(message.data()) : QByteArray();
    for (qsizetype i = 0; s == StorageStatus::Ok && i < targets.size(); ++i) {
        if (!claims[i].write)
            continue;
        Statement &st = m_insertEntry;
        if (inlineBody) {
            // Bound without a copy: message and props outlive the run() below.
            const core::MessageData &d = message.data();
            st.bind(11, d.topic);
            st.bind(12, d.payload);
            st.bind(13, std::int64_t(d.timestampMs));
            st.bind(14, props);
            st.bind(15, std::int64_t(d.qos & 3) | (d.retain ? 4 : 0));
        }
        st.bind(1, std::int64_t(targets[i].queueId));
        st.bind(2, std::int64_t(seqs[i]));
        st.bind(3, id);
        st.bind(4, std::int64_t(targets[i].meta.qos));
        st.bind(5, std::int64_t(targets[i].meta.retain));
        st.bind(6, targets[i].meta.tag);
        st.bind(7, bytes);
        st.bind(8, std::int64_t(message.expiresAtMs()));
        st.bind(9, std::int64_t(claims[i].state));
        st.bind(10, std::int64_t(claims[i].packetId));
        s = check(st.run(), "insert_entry");
        if (s == StorageStatus::Ok)
            ++m_pending.entries;
    }
    return s;
}

StorageStatus StoreDb::setEntryState(std::uint64_t queueId, std::uint64_t seq, EntryState state,
                                     std::uint16_t packetId)
{
    Statement &st = m_setEntryState;
    st.bind(1, std::int64_t(queueId));
    st.bind(2, std::int64_t(seq));
    st.bind(3, std::int64_t(state));
    st.bind(4, std::int64_t(packetId));
    const StorageStatus s = check(st.run(), "set_entry_state");
    if (s == StorageStatus::Ok && sqlite3_changes(m_db) == 0)
        return StorageStatus::NotFound;
    return s;
}

StorageStatus StoreDb::remove(std::uint64_t queueId, std::uint64_t seq)
{
    Statement &st = m_deleteEntry;
    st.bind(1, std::int64_t(queueId));
    st.bind(2, std::int64_t(seq));
    const int rc = st.step();
    const std::int64_t messageId = rc == SQLITE_ROW ? st.int64(0) : 0;
    const int done = rc == SQLITE_ROW ? st.step() : rc;
    st.reset();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return check(rc, "delete_entry");
    if (done != SQLITE_DONE)
        return check(done, "delete_entry");
    if (rc == SQLITE_DONE)
        return StorageStatus::NotFound;
    --m_pending.entries;
    return releaseMessage(messageId);
}

namespace {
// Steps a "DELETE ... RETURNING message_id" to completion, collecting the ids.
int collectIds(Statement &st, std::vector<std::int64_t> *ids)
{
    int rc;
    while ((rc = st.step()) == SQLITE_ROW)
        ids->push_back(st.int64(0));
    st.reset();
    return rc;
}
} // namespace

StorageStatus StoreDb::dropQueue(std::uint64_t queueId)
{
    std::vector<std::int64_t> ids;
    m_deleteQueueEntries.bind(1, std::int64_t(queueId));
    StorageStatus s = check(collectIds(m_deleteQueueEntries, &ids), "drop_queue_entries");
    m_pending.entries -= std::int64_t(ids.size());
    for (std::size_t i = 0; s == StorageStatus::Ok && i < ids.size(); ++i)
        s = releaseMessage(ids[i]);
    if (s != StorageStatus::Ok)
        return s;
    m_deleteQueue.bind(1, std::int64_t(queueId));
    s = check(m_deleteQueue.run(), "drop_queue");
    if (s == StorageStatus::Ok && ids.empty() && sqlite3_changes(m_db) == 0)
        return StorageStatus::NotFound;
    return s;
}

StorageStatus StoreDb::saveSession(const StoredSession &x)
{
    StorageStatus s = roomForInsert();
    if (s != StorageStatus::Ok)
        return s;
    Statement &st = m_upsertSession;
    st.bind(1, x.clientId);
    st.bind(2, std::int64_t(x.expiryInterval));
    st.bind(3, std::int64_t(x.disconnectedAtMs));
    st.bind(4, std::int64_t(x.protocolVersion));
    st.bind(5, x.props);
    return check(st.run(), "save_session");
}

StorageStatus StoreDb::deleteSession(const QByteArray &clientId)
{
    int removed = 0;
    for (auto [st, what] : {std::pair{&m_deleteSessionSubs, "delete_session_subscriptions"},
                            std::pair{&m_deleteSessionInbound, "delete_session_inbound"},
                            std::pair{&m_deleteSession, "delete_session"}}) {
        st->bind(1, clientId);
        const StorageStatus s = check(st->run(), what);
        if (s != StorageStatus::Ok)
            return s;
        removed += sqlite3_changes(m_db);
    }
    return removed ? StorageStatus::Ok : StorageStatus::NotFound;
}

StorageStatus StoreDb::addInboundQos2(const QByteArray &clientId, std::uint16_t packetId)
{
    StorageStatus s = roomForInsert();
    if (s != StorageStatus::Ok)
        return s;
    m_insertInbound.bind(1, clientId);
    m_insertInbound.bind(2, std::int64_t(packetId));
    return check(m_insertInbound.run(), "insert_inbound_qos2");
}

StorageStatus StoreDb::removeInboundQos2(const QByteArray &clientId, std::uint16_t packetId)
{
    m_deleteInbound.bind(1, clientId);
    m_deleteInbound.bind(2, std::int64_t(packetId));
    const StorageStatus s = check(m_deleteInbound.run(), "delete_inbound_qos2");
    if (s == StorageStatus::Ok && sqlite3_changes(m_db) == 0)
        return StorageStatus::NotFound;
    return s;
}

StorageStatus StoreDb::saveSubscription(const StoredSubscription &x)
{
    StorageStatus s = roomForInsert();
    if (s != StorageStatus::Ok)
        return s;
    Statement &st = m_upsertSub;
    st.bind(1, x.clientId);
    st.bind(2, x.filter);
    st.bind(3, std::int64_t(x.options));
    st.bind(4, std::int64_t(x.subscriptionId));
    return check(st.run(), "save_subscription");
}

StorageStatus StoreDb::deleteSubscription(const QByteArray &clientId, const QByteArray &filter)
{
    m_deleteSub.bind(1, clientId);
    m_deleteSub.bind(2, filter);
    const StorageStatus s = check(m_deleteSub.run(), "delete_subscription");
    if (s == StorageStatus::Ok && sqlite3_changes(m_db) == 0)
        return StorageStatus::NotFound;
    return s;
}

StorageStatus StoreDb::clearRetained(const QByteArray &topic)
{
    std::vector<std::int64_t> ids;
    m_deleteRetained.bind(1, topic);
    StorageStatus s = check(collectIds(m_deleteRetained, &ids), "delete_retained");
    for (std::size_t i = 0; s == StorageStatus::Ok && i < ids.size(); ++i)
        s = releaseMessage(ids[i]);
    return s;
}

StorageStatus StoreDb::setRetained(const core::Message &message)
{
    // [MQTT-3.3.1-6] "a PUBLISH packet with a RETAIN flag set to 1 and a payload containing
    // zero bytes ... any existing retained message with the same topic name MUST be removed".
    if (message.payload().isEmpty())
        return clearRetained(message.topic());
    StorageStatus s = roomForInsert();
    if (s == StorageStatus::Ok)
        s = clearRetained(message.topic());
    std::int64_t id = 0;
    if (s == StorageStatus::Ok)
        s = insertMessage(message, 1, &id);
    if (s != StorageStatus::Ok)
        return s;
    m_insertRetained.bind(1, message.topic());
    m_insertRetained.bind(2, id);
    return check(m_insertRetained.run(), "insert_retained");
}

StorageStatus StoreDb::deleteWill(const QByteArray &clientId)
{
    std::vector<std::int64_t> ids;
    m_deleteWill.bind(1, clientId);
    StorageStatus s = check(collectIds(m_deleteWill, &ids), "delete_will");
    for (std::size_t i = 0; s == StorageStatus::Ok && i < ids.size(); ++i)
        s = releaseMessage(ids[i]);
    if (s == StorageStatus::Ok && ids.empty())
        return StorageStatus::NotFound;
    return s;
}

StorageStatus StoreDb::saveWill(const StoredWill &w)
{
    StorageStatus s = roomForInsert();
    if (s == StorageStatus::Ok) {
        s = deleteWill(w.clientId);
        if (s == StorageStatus::NotFound)
            s = StorageStatus::Ok;
    }
    std::int64_t id = 0;
    if (s == StorageStatus::Ok)
        s = insertMessage(w.message, 1, &id);
    if (s != StorageStatus::Ok)
        return s;
    m_insertWill.bind(1, w.clientId);
    m_insertWill.bind(2, id);
    m_insertWill.bind(3, std::int64_t(w.publishAtMs));
    return check(m_insertWill.run(), "insert_will");
}

StorageStatus StoreDb::purgeExpired(std::int64_t nowMs, PurgeResult *result)
{
    std::vector<std::int64_t> ids;
    m_expiredEntries.bind(1, nowMs);
    StorageStatus s = check(collectIds(m_expiredEntries, &ids), "purge_entries");
    result->entries = ids.size();
    m_pending.entries -= std::int64_t(ids.size());
    if (s == StorageStatus::Ok) {
        const std::size_t entryIds = ids.size();
        m_expiredRetained.bind(1, nowMs);
        s = check(collectIds(m_expiredRetained, &ids), "purge_retained");
        result->retained = ids.size() - entryIds;
    }
    for (std::size_t i = 0; s == StorageStatus::Ok && i < ids.size(); ++i)
        s = releaseMessage(ids[i]);
    return s;
}

StorageStatus StoreDb::createQueue(std::uint64_t id, const QByteArray &name, QueueKind kind)
{
    // No budget check: a queue row is tiny, and refusing it would orphan the entries that
    // follow; the reserve covers it.
    m_insertQueue.bind(1, std::int64_t(id));
    m_insertQueue.bind(2, name);
    m_insertQueue.bind(3, std::int64_t(kind));
    return check(m_insertQueue.run(), "insert_queue");
}

StorageStatus StoreDb::queueCatalog(QList<QueueCatalogEntry> *out, std::uint64_t *maxSeq)
{
    Statement st;
    StorageStatus s = check(st.prepare(m_db, "SELECT id, name, kind FROM queues ORDER BY id"),
                            "queue_catalog");
    if (s != StorageStatus::Ok)
        return s;
    s = readAll(*this, st, "queue_catalog", [&] {
        out->append({std::uint64_t(st.int64(0)), st.blob(1), QueueKind(st.int64(2))});
    });
    if (s != StorageStatus::Ok)
        return s;
    Statement last;
    s = check(last.prepare(m_db, "SELECT COALESCE(MAX(seq), 0) FROM queue_entries"),
              "queue_catalog");
    if (s != StorageStatus::Ok)
        return s;
    return readAll(*this, last, "queue_catalog",
                   [&] { *maxSeq = std::uint64_t(last.int64(0)); });
}

core::Message StoreDb::messageFromRow(Statement &st, int c)
{
    core::Message m;
    core::MessageData &d = m.edit();
    d.topic = st.blob(c + 1);
    d.payload = st.blob(c + 2);
    d.qos = std::uint8_t(st.int64(c + 3));
    d.retain = st.int64(c + 4) != 0;
    d.timestampMs = st.int64(c + 5);
    d.expiresAtMs = st.int64(c + 6);
    if (!PropsCodec::decode(st.blob(c + 7), d))
        qCWarning(lcStorage).nospace() << "event=bad_props message_row=" << st.int64(c)
                                       << " action=delivered_without_properties";
    return m;
}

namespace {
StoredEntry entryFromRow(Statement &st, core::Message message)
{
    StoredEntry e;
    e.message = std::move(message);
    e.bodyId = std::uint64_t(st.int64(0));
    e.seq = std::uint64_t(st.int64(8));
    e.state = EntryState(st.int64(9));
    e.packetId = std::uint16_t(st.int64(10));
    e.meta.qos = std::uint8_t(st.int64(11));
    e.meta.retain = st.int64(12) != 0;
    e.meta.tag = st.blob(13);
    return e;
}
} // namespace

StorageStatus StoreDb::load(std::uint64_t queueId, std::int64_t nowMs, QList<StoredEntry> *out)
{
    Statement &st = m_loadEntries;
    st.bind(1, std::int64_t(queueId));
    st.bind(2, nowMs);
    return readAll(*this, st, "load_entries",
                   [&] { out->append(entryFromRow(st, messageFromRow(st, 0))); });
}

StorageStatus StoreDb::loadAll(std::int64_t nowMs,
                               QHash<std::uint64_t, QList<StoredEntry>> *out)
{
    Statement &st = m_loadAllEntries;
    st.bind(1, nowMs);
    return readAll(*this, st, "load_all_entries", [&] {
        (*out)[std::uint64_t(st.int64(14))].append(entryFromRow(st, messageFromRow(st, 0)));
    });
}

StorageStatus StoreDb::queues(QList<QueueInfo> *out)
{
    Statement &st = m_listQueues;
    return readAll(*this, st, "list_queues", [&] {
        out->append({std::uint64_t(st.int64(0)), st.blob(1), QueueKind(st.int64(2)),
                     std::uint64_t(st.int64(3)), std::uint64_t(st.int64(4))});
    });
}

StorageStatus StoreDb::sessions(QList<StoredSession> *out)
{
    Statement &st = m_listSessions;
    return readAll(*this, st, "list_sessions", [&] {
        out->append({st.blob(0), std::uint32_t(st.int64(1)), st.int64(2), std::uint8_t(st.int64(3)),
                     st.blob(4)});
    });
}

StorageStatus StoreDb::subscriptions(QList<StoredSubscription> *out)
{
    Statement &st = m_listSubs;
    return readAll(*this, st, "list_subscriptions", [&] {
        out->append(
            {st.blob(0), st.blob(1), std::uint32_t(st.int64(2)), std::uint32_t(st.int64(3))});
    });
}

StorageStatus StoreDb::retained(std::int64_t nowMs, QList<core::Message> *out)
{
    Statement &st = m_listRetained;
    st.bind(1, nowMs);
    return readAll(*this, st, "list_retained", [&] { out->append(messageFromRow(st, 0)); });
}

StorageStatus StoreDb::wills(QList<StoredWill> *out)
{
    Statement &st = m_listWills;
    return readAll(*this, st, "list_wills", [&] {
        out->append({st.blob(8), messageFromRow(st, 0), st.int64(9)});
    });
}

StorageStatus StoreDb::inboundQos2(QList<StoredInboundId> *out)
{
    Statement &st = m_listInbound;
    return readAll(*this, st, "list_inbound_qos2", [&] {
        out->append({st.blob(0), std::uint16_t(st.int64(1))});
    });
}

StorageStatus StoreDb::countRows()
{
    Statement st;
    std::int64_t messages = 0, entries = 0;
    StorageStatus s = check(st.prepare(m_db, "SELECT COUNT(*) FROM messages"), "count");
    if (s == StorageStatus::Ok)
        s = pragmaInt(st, &messages);
    if (s == StorageStatus::Ok)
        s = check(st.prepare(m_db, "SELECT COUNT(*) FROM queue_entries"), "count");
    if (s == StorageStatus::Ok)
        s = pragmaInt(st, &entries);
    m_committed = m_pending = m_opStart = Counters{messages, entries};
    return s;
}

} // namespace ferry::storage
