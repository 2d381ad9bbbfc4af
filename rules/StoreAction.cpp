#include "rules/StoreAction.h"

#include "rules/Clock.h"
#include "rules/Json.h"
#include "rules/StoreDatabase.h"

#include <QRegularExpression>

namespace ferry::rules {

std::unique_ptr<Action> StoreAction::create(const ActionSpec &spec, QString *error)
{
    auto a = std::make_unique<StoreAction>();
    const QVariantMap &p = spec.params;
    for (auto it = p.cbegin(); it != p.cend(); ++it) {
        if (!QStringList{"type", "table", "max_rows", "db"}.contains(it.key())) {
            *error = QString("unknown key '%1' (expected type, table, max_rows, db)").arg(it.key());
            return nullptr;
        }
    }
    a->m_table = QString::fromUtf8(p.value("table").toByteArray());
    static const QRegularExpression name("^[A-Za-z_][A-Za-z0-9_]{0,63}$");
    if (!name.match(a->m_table).hasMatch()) {
        *error = "store action needs 'table': a name of letters, digits and _";
        return nullptr;
    }
    if (p.contains("max_rows")) {
        if (p.value("max_rows").typeId() != QMetaType::LongLong ||
            p.value("max_rows").toLongLong() < 0) {
            *error = "'max_rows' must be a non-negative integer";
            return nullptr;
        }
        a->m_maxRows = p.value("max_rows").toLongLong();
    }
    a->m_db = QString::fromUtf8(p.value("db").toByteArray());
    return a;
}

bool StoreAction::fire(const QVariantMap &row, ActionEnv &env,
                       const std::shared_ptr<RuleMetrics> &metrics, QString *error)
{
    if (!m_database) {
        if (!env.store) {
            *error = "no store database";
            return false;
        }
        auto db = env.store(m_db);
        if (!db || !db->open(error) || !db->ensureTable(m_table, m_maxRows, error))
            return false;
        m_database = db;
    }
    m_database->append(m_table, env.clock ? env.clock->nowMs() : 0,
                       metrics ? metrics->name : QString(), json::write(row));
    return true;
}

QString StoreAction::describe(const QVariantMap &row) const
{
    return QString("store table=%1 max_rows=%2 row=%3")
        .arg(m_table)
        .arg(m_maxRows)
        .arg(QString::fromUtf8(json::write(row)));
}

} // namespace ferry::rules
