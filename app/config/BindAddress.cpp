#include "config/BindAddress.h"

#include <arpa/inet.h>

namespace ferry::config {

namespace {

// The IP literal in canonical form (inet_ntop), or an empty string.
QString canonicalAddress(const QString &text, bool ipv6)
{
    const QByteArray in = text.toLatin1();
    if (in.isEmpty() || QString::fromLatin1(in) != text)
        return {};
    unsigned char buf[16];
    const int family = ipv6 ? AF_INET6 : AF_INET;
    if (inet_pton(family, in.constData(), buf) != 1)
        return {};
    char out[INET6_ADDRSTRLEN];
    if (!inet_ntop(family, buf, out, sizeof out))
        return {};
    return QString::fromLatin1(out);
}

} // namespace

QString parseBindAddress(const QString &text, BindAddress *out)
{
    const QString invalid =
        QStringLiteral("invalid address '%1'; expected \"host:port\" with an IP address, "
                       "e.g. \"127.0.0.1:1883\" or \"[::1]:1883\"")
            .arg(text);
    const qsizetype colon = text.lastIndexOf(QLatin1Char(':'));
    if (colon < 0)
        return invalid;
    QString host = text.left(colon);
    const QString portText = text.mid(colon + 1);
    bool ipv6 = false;
    if (host.startsWith(QLatin1Char('['))) {
        if (!host.endsWith(QLatin1Char(']')))
            return invalid;
        host = host.mid(1, host.size() - 2);
        ipv6 = true;
    }
    const QString canonical = canonicalAddress(host, ipv6);
    if (canonical.isEmpty())
        return invalid;
    // Digits only: toUInt alone would accept "+80" and " 80".
    bool ok = !portText.isEmpty() && portText.size() <= 5;
    for (QChar c : portText)
        ok = ok && c.isDigit() && c.unicode() < 128;
    const uint port = ok ? portText.toUInt(&ok) : 0;
    if (!ok || port > 65535)
        return QStringLiteral("invalid port '%1' in '%2'; expected 0..65535").arg(portText, text);
    out->host = canonical;
    out->port = quint16(port);
    out->ipv6 = ipv6;
    return {};
}

bool bindsOverlap(const BindAddress &a, const BindAddress &b)
{
    if (a.port == 0 || a.port != b.port || a.ipv6 != b.ipv6)
        return false;
    return a.host == b.host || a.wildcard() || b.wildcard();
}

} // namespace ferry::config
