#pragma once
// store: appends each row as JSON to a table of the local history database.
// table (required, [A-Za-z_][A-Za-z0-9_]*), max_rows (retention, default 100000; 0 = keep all),
// db (optional path; default the engine's store path).
// A failed write is counted against the rule asynchronously when the batch commits.

#include "rules/Action.h"

namespace ferry::rules {

class StoreAction : public Action {
public:
    static std::unique_ptr<Action> create(const ActionSpec &spec, QString *error);
    QByteArray type() const override { return QByteArrayLiteral("store"); }
    bool fire(const QVariantMap &row, ActionEnv &env, const std::shared_ptr<RuleMetrics> &metrics,
              QString *error) override;
    QString describe(const QVariantMap &row) const override;

private:
    QString m_table;
    QString m_db; // empty: engine default
    qint64 m_maxRows = 100000;
    std::shared_ptr<StoreDatabase> m_database; // opened on first fire
};

} // namespace ferry::rules
