#include "rules/WebhookAction.h"

#include "rules/Json.h"
#include "rules/Logging.h"

#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>

namespace ferry::rules {

std::unique_ptr<Action> WebhookAction::create(const ActionSpec &spec, QString *error)
{
    auto a = std::make_unique<WebhookAction>();
    const QVariantMap &p = spec.params;
    for (auto it = p.cbegin(); it != p.cend(); ++it) {
        if (!QStringList{"type", "url", "headers", "body", "timeout_ms", "max_inflight"}.contains(
                it.key())) {
            *error = QString("unknown key '%1' (expected type, url, headers, body, timeout_ms, "
                             "max_inflight)")
                         .arg(it.key());
            return nullptr;
        }
    }
    a->m_url = QUrl(QString::fromUtf8(p.value("url").toByteArray()), QUrl::StrictMode);
    if (!a->m_url.isValid() || (a->m_url.scheme() != "http" && a->m_url.scheme() != "https") ||
        a->m_url.host().isEmpty()) {
        *error = "webhook action needs 'url': an http:// or https:// URL";
        return nullptr;
    }
    if (p.contains("headers")) {
        if (p.value("headers").typeId() != QMetaType::QVariantMap) {
            *error = "'headers' must be a table of name = \"template\"";
            return nullptr;
        }
        const QVariantMap h = p.value("headers").toMap();
        for (auto it = h.cbegin(); it != h.cend(); ++it) {
            Template t;
            if (!Template::parse(it.value().toByteArray(), &t, error))
                return nullptr;
            a->m_headers.append({it.key().toUtf8(), t});
        }
    }
    if (p.contains("body")) {
        a->m_hasBody = true;
        if (!Template::parse(p.value("body").toByteArray(), &a->m_body, error))
            return nullptr;
    }
    for (const char *key : {"timeout_ms", "max_inflight"}) {
        if (!p.contains(key))
            continue;
        const QVariant v = p.value(key);
        if (v.typeId() != QMetaType::LongLong || v.toLongLong() <= 0 || v.toLongLong() > 3600000) {
            *error = QString("'%1' must be a positive integer").arg(key);
            return nullptr;
        }
        (QByteArray(key) == "timeout_ms" ? a->m_timeoutMs : a->m_maxInflight) = int(v.toLongLong());
    }
    return a;
}

bool WebhookAction::fire(const QVariantMap &row, ActionEnv &env,
                         const std::shared_ptr<RuleMetrics> &metrics, QString *error)
{
    QNetworkAccessManager *nam = env.network ? env.network() : nullptr;
    if (!nam) {
        *error = "no network access";
        return false;
    }
    if (*m_inflight >= m_maxInflight) {
        *error =
            QString("webhook %1 has %2 requests in flight").arg(m_url.toString()).arg(*m_inflight);
        return false;
    }
    QNetworkRequest req(m_url);
    req.setHeader(QNetworkRequest::ContentTypeHeader, "application/json");
    for (const auto &h : m_headers)
        req.setRawHeader(h.first, h.second.render(row));
    req.setTransferTimeout(m_timeoutMs);
    QNetworkReply *reply = nam->post(req, m_hasBody ? m_body.render(row) : json::write(row));
    ++*m_inflight;
    std::shared_ptr<int> inflight = m_inflight;
    std::weak_ptr<RuleMetrics> weak = metrics;
    const QString url = m_url.toString();
    QObject::connect(reply, &QNetworkReply::finished, reply, [reply, inflight, weak, url] {
        --*inflight;
        const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        const bool ok = reply->error() == QNetworkReply::NoError && status >= 200 && status < 300;
        if (auto m = weak.lock()) {
            if (ok) {
                ++m->actionsFired;
            } else {
                ++m->actionsFailed;
                m->lastActionError =
                    QString("webhook %1: %2")
                        .arg(url, status ? QString("HTTP %1").arg(status) : reply->errorString());
                qCWarning(lcRules, "rule=%s action=webhook url=%s error=\"%s\"",
                          qUtf8Printable(m->name), qUtf8Printable(url),
                          qUtf8Printable(m->lastActionError));
            }
        }
        reply->deleteLater();
    });
    return true;
}

QString WebhookAction::describe(const QVariantMap &row) const
{
    QString headers;
    for (const auto &h : m_headers)
        headers += QString(" %1: %2;")
                       .arg(QString::fromUtf8(h.first), QString::fromUtf8(h.second.render(row)));
    return QString("webhook POST %1 timeout_ms=%2%3 body=%4")
        .arg(m_url.toString())
        .arg(m_timeoutMs)
        .arg(headers.isEmpty() ? QString() : " headers:" + headers,
             QString::fromUtf8(m_hasBody ? m_body.render(row) : json::write(row)));
}

} // namespace ferry::rules
