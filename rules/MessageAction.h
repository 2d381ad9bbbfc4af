#pragma once
// republish and bridge: both turn a row into a core::Message through templates.
//
// republish: topic (template, required), payload (template; default: the row as JSON),
// qos (0-2, default 0), retain (default false), user_properties (table of name -> template),
// allow_loop (default false). A topic that could match the rule's own FROM is refused at load
// unless allow_loop is set; at run time republishing more than kMaxRepublishDepth levels deep
// fails (a cycle through several rules).
// bridge: bridge (name, required), topic (template, default "${topic}"), payload, qos, retain.

#include "rules/Action.h"
#include "rules/Template.h"

namespace ferry::rules {

constexpr int kMaxRepublishDepth = 4;

class MessageAction : public Action {
public:
    static std::unique_ptr<Action> create(const ActionSpec &spec, const QList<FromItem> &from,
                                          QString *error);
    // Literals: no allocation for the engine's per-message check of the type.
    QByteArray type() const override
    {
        return m_bridge.isEmpty() ? QByteArrayLiteral("republish") : QByteArrayLiteral("bridge");
    }
    bool fire(const QVariantMap &row, ActionEnv &env, const std::shared_ptr<RuleMetrics> &metrics,
              QString *error) override;
    QString describe(const QVariantMap &row) const override;

private:
    struct Built {
        QByteArray topic;
        QByteArray payload;
        QList<QPair<QByteArray, QByteArray>> userProperties;
    };
    Built build(const QVariantMap &row) const;

    QString m_bridge; // empty: republish
    Template m_topic;
    Template m_payload;
    bool m_hasPayload = false;
    int m_qos = 0;
    bool m_retain = false;
    QList<QPair<QByteArray, Template>> m_userProperties;
};

} // namespace ferry::rules
