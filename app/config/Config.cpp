#include "config/Config.h"

namespace ferry::config {

bool operator==(const TlsConfig &a, const TlsConfig &b)
{
    return a.cert == b.cert && a.key == b.key && a.ca == b.ca;
}

bool operator==(const ListenerConfig &a, const ListenerConfig &b)
{
    return a.protocol == b.protocol && a.host == b.host && a.port == b.port &&
           a.allowAnonymous == b.allowAnonymous && a.path == b.path && a.tls == b.tls;
}

quint16 defaultPort(const QString &protocol, bool tls)
{
    if (protocol == QLatin1String("mqtt-ws"))
        return tls ? 8084 : 8083;
    if (protocol == QLatin1String("amqp"))
        return tls ? 5671 : 5672;
    return tls ? 8883 : 1883;
}

QString listenerName(const ListenerConfig &listener)
{
    // IPv6 hosts are bracketed so that the port stays unambiguous, as in `bind`.
    const bool v6 = listener.host.contains(QLatin1Char(':'));
    const QString host = v6 ? QLatin1Char('[') + listener.host + QLatin1Char(']') : listener.host;
    return listener.protocol + QLatin1Char('@') + host + QLatin1Char(':') +
           QString::number(listener.port);
}

QList<ListenerConfig> defaultListeners()
{
    ListenerConfig mqtt;
    mqtt.name = listenerName(mqtt);
    ListenerConfig ws;
    ws.protocol = QStringLiteral("mqtt-ws");
    ws.port = defaultPort(ws.protocol, false);
    ws.name = listenerName(ws);
    return {mqtt, ws};
}

QString ConfigError::toString() const
{
    if (line <= 0)
        return file + QLatin1String(": ") + message;
    return QStringLiteral("%1:%2:%3: %4").arg(file).arg(line).arg(column).arg(message);
}

} // namespace ferry::config
