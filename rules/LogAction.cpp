#include "rules/LogAction.h"

#include "rules/Json.h"
#include "rules/Logging.h"

namespace ferry::rules {

std::unique_ptr<Action> LogAction::create(const ActionSpec &spec, QString *error)
{
    auto a = std::make_unique<LogAction>();
    for (auto it = spec.params.cbegin(); it != spec.params.cend(); ++it) {
        if (it.key() != "type" && it.key() != "level") {
            *error = QString("unknown key '%1' (expected type, level)").arg(it.key());
            return nullptr;
        }
    }
    if (spec.params.contains("level")) {
        a->m_level = spec.params.value("level").toByteArray();
        if (a->m_level != "info" && a->m_level != "debug" && a->m_level != "warning") {
            *error = "'level' must be debug, info or warning";
            return nullptr;
        }
    }
    return a;
}

bool LogAction::fire(const QVariantMap &row, ActionEnv &,
                     const std::shared_ptr<RuleMetrics> &metrics, QString *)
{
    const QByteArray out = json::write(row);
    const QString rule = metrics ? metrics->name : QString();
    if (m_level == "debug")
        qCDebug(lcRules, "rule=%s output=%s", qUtf8Printable(rule), out.constData());
    else if (m_level == "warning")
        qCWarning(lcRules, "rule=%s output=%s", qUtf8Printable(rule), out.constData());
    else
        qCInfo(lcRules, "rule=%s output=%s", qUtf8Printable(rule), out.constData());
    return true;
}

QString LogAction::describe(const QVariantMap &row) const
{
    return QString("log level=%1 %2")
        .arg(QString::fromUtf8(m_level), QString::fromUtf8(json::write(row)));
}

} // namespace ferry::rules
