#pragma once
// log: writes the row as JSON to the ferry.rules logging category.
// level = "info" (default) | "debug" | "warning".

#include "rules/Action.h"

namespace ferry::rules {

class LogAction : public Action {
public:
    static std::unique_ptr<Action> create(const ActionSpec &spec, QString *error);
    QByteArray type() const override { return QByteArrayLiteral("log"); }
    bool fire(const QVariantMap &row, ActionEnv &env, const std::shared_ptr<RuleMetrics> &metrics,
              QString *error) override;
    QString describe(const QVariantMap &row) const override;

private:
    QByteArray m_level = "info";
};

} // namespace ferry::rules
