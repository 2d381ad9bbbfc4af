#pragma once
// webhook: HTTP POST of the row as JSON (or of a body template) through
// QNetworkAccessManager; never waits. url (required, http/https), headers (table of
// name -> template), body (template; default the row as JSON), timeout_ms (default 5000),
// max_inflight (default 64: further rows fail at once rather than queue without bound).
// A 2xx response counts as fired; anything else, a timeout or a network error as failed.

#include "rules/Action.h"
#include "rules/Template.h"

#include <QUrl>

namespace ferry::rules {

class WebhookAction : public Action {
public:
    static std::unique_ptr<Action> create(const ActionSpec &spec, QString *error);
    QByteArray type() const override { return QByteArrayLiteral("webhook"); }
    bool fire(const QVariantMap &row, ActionEnv &env, const std::shared_ptr<RuleMetrics> &metrics,
              QString *error) override;
    QString describe(const QVariantMap &row) const override;

private:
    QUrl m_url;
    QList<QPair<QByteArray, Template>> m_headers;
    Template m_body;
    bool m_hasBody = false;
    int m_timeoutMs = 5000;
    int m_maxInflight = 64;
    std::shared_ptr<int> m_inflight = std::make_shared<int>(0);
};

} // namespace ferry::rules
