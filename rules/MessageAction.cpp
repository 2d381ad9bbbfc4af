#include "rules/MessageAction.h"

#include "rules/ActionSink.h"
#include "rules/Ast.h"
#include "rules/Clock.h"
#include "rules/FilterMatch.h"
#include "rules/Json.h"

#include <algorithm>

namespace ferry::rules {

namespace {

bool templateParam(const QVariantMap &p, const char *key, Template *out, QString *error,
                   bool *present = nullptr)
{
    const QVariant v = p.value(key);
    if (present)
        *present = v.isValid();
    if (!v.isValid())
        return true;
    if (v.typeId() != QMetaType::QByteArray) {
        *error = QString("'%1' must be a string").arg(key);
        return false;
    }
    return Template::parse(v.toByteArray(), out, error);
}

bool checkKeys(const QVariantMap &p, const QStringList &allowed, QString *error)
{
    for (auto it = p.cbegin(); it != p.cend(); ++it) {
        if (!allowed.contains(it.key())) {
            *error = QString("unknown key '%1' (expected %2)").arg(it.key(), allowed.join(", "));
            return false;
        }
    }
    return true;
}

} // namespace

std::unique_ptr<Action> MessageAction::create(const ActionSpec &spec, const QList<FromItem> &from,
                                              QString *error)
{
    auto a = std::make_unique<MessageAction>();
    const QVariantMap &p = spec.params;
    const bool bridge = spec.type == "bridge";
    const QStringList keys =
        bridge ? QStringList{"type", "bridge", "topic", "payload", "qos", "retain"}
               : QStringList{"type",   "topic",           "payload",   "qos",
                             "retain", "user_properties", "allow_loop"};
    if (!checkKeys(p, keys, error))
        return nullptr;
    if (bridge) {
        a->m_bridge = QString::fromUtf8(p.value("bridge").toByteArray());
        if (a->m_bridge.isEmpty()) {
            *error = "bridge action needs 'bridge' (the bridge's name)";
            return nullptr;
        }
        Template::parse("${topic}", &a->m_topic, error);
    } else if (!p.contains("topic")) {
        *error = "republish action needs 'topic'";
        return nullptr;
    }
    if (!templateParam(p, "topic", &a->m_topic, error) ||
        !templateParam(p, "payload", &a->m_payload, error, &a->m_hasPayload))
        return nullptr;
    if (a->m_topic.source().isEmpty()) {
        *error = "'topic' must not be empty";
        return nullptr;
    }
    if (a->m_topic.source().contains('+') || a->m_topic.source().contains('#')) {
        *error = "'topic' must not contain wildcards";
        return nullptr;
    }
    if (p.contains("qos")) {
        const QVariant q = p.value("qos");
        if (q.typeId() != QMetaType::LongLong || q.toLongLong() < 0 || q.toLongLong() > 2) {
            *error = "'qos' must be 0, 1 or 2";
            return nullptr;
        }
        a->m_qos = int(q.toLongLong());
    }
    if (p.contains("retain")) {
        if (p.value("retain").typeId() != QMetaType::Bool) {
            *error = "'retain' must be true or false";
            return nullptr;
        }
        a->m_retain = p.value("retain").toBool();
    }
    if (p.contains("user_properties")) {
        const QVariant up = p.value("user_properties");
        if (up.typeId() != QMetaType::QVariantMap) {
            *error = "'user_properties' must be a table of name = \"template\"";
            return nullptr;
        }
        const QVariantMap m = up.toMap();
        for (auto it = m.cbegin(); it != m.cend(); ++it) {
            Template t;
            if (it.value().typeId() != QMetaType::QByteArray) {
                *error = QString("user property '%1' must be a string").arg(it.key());
                return nullptr;
            }
            if (!Template::parse(it.value().toByteArray(), &t, error))
                return nullptr;
            a->m_userProperties.append({it.key().toUtf8(), t});
        }
    }
    if (!bridge && !p.value("allow_loop").toBool()) {
        // A placeholder may expand to several levels: treat the rest of the topic as '#'.
        QByteArray skel = a->m_topic.skeleton("\x01");
        const qsizetype hole = skel.indexOf('\x01');
        if (hole >= 0) {
            const qsizetype levelStart = skel.lastIndexOf('/', hole) + 1;
            skel = skel.left(levelStart) + "#";
        }
        for (const FromItem &f : from) {
            if (filtersOverlap(f.filter, skel)) {
                *error =
                    QString("republish topic '%1' can match the rule's own FROM \"%2\" (a "
                            "loop); change the topic or set allow_loop = true")
                        .arg(QString::fromUtf8(a->m_topic.source()), QString::fromUtf8(f.filter));
                return nullptr;
            }
        }
    }
    return a;
}

MessageAction::Built MessageAction::build(const QVariantMap &row) const
{
    Built b;
    b.topic = m_topic.render(row);
    b.payload = m_hasPayload ? m_payload.render(row) : json::write(row);
    for (const auto &up : m_userProperties)
        b.userProperties.append({up.first, up.second.render(row)});
    return b;
}

bool MessageAction::fire(const QVariantMap &row, ActionEnv &env,
                         const std::shared_ptr<RuleMetrics> &, QString *error)
{
    if (!env.sink) {
        *error = "no action sink";
        return false;
    }
    Built b = build(row);
    if (b.topic.isEmpty() || b.topic.contains('+') || b.topic.contains('#')) {
        *error = QString("rendered topic '%1' is not a valid topic name")
                     .arg(QString::fromUtf8(b.topic));
        return false;
    }
    if (m_bridge.isEmpty() && env.republishDepth >= kMaxRepublishDepth) {
        *error = QString("republish depth limit %1 reached (rules republish in a cycle)")
                     .arg(kMaxRepublishDepth);
        return false;
    }
    core::Message m(b.topic, b.payload, std::uint8_t(m_qos), m_retain);
    core::MessageData &d = m.edit();
    d.timestampMs = env.clock ? env.clock->nowMs() : 0;
    d.userProperties = b.userProperties;
    d.ruleHops = std::uint8_t(std::min(env.republishDepth + 1, 255));
    if (m_bridge.isEmpty())
        env.sink->republish(m);
    else
        env.sink->bridge(m_bridge, m);
    return true;
}

QString MessageAction::describe(const QVariantMap &row) const
{
    const Built b = build(row);
    QString props;
    for (const auto &up : b.userProperties)
        props += QString(" %1=%2").arg(QString::fromUtf8(up.first), QString::fromUtf8(up.second));
    const QString head =
        m_bridge.isEmpty() ? QString("republish") : QString("bridge bridge=%1").arg(m_bridge);
    return QString("%1 topic=%2 qos=%3 retain=%4%5 payload=%6")
        .arg(head, QString::fromUtf8(b.topic))
        .arg(m_qos)
        .arg(m_retain ? "true" : "false", props.isEmpty() ? QString() : " user_properties:" + props,
             QString::fromUtf8(b.payload));
}

} // namespace ferry::rules
