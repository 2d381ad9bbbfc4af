#pragma once

// Internal: parsing `bind = "host:port"`.

#include <QString>
#include <QtGlobal>

namespace ferry::config {

struct BindAddress {
    QString host; // canonical text of the IP address: "127.0.0.1", "::1", "0.0.0.0", "::"
    quint16 port = 0;
    bool ipv6 = false;
    bool wildcard() const
    {
        return host == QLatin1String("0.0.0.0") || host == QLatin1String("::");
    }
};

// Accepts "a.b.c.d:port" and "[ipv6]:port", port 0..65535 (0 = any free port). The host must be
// an IP literal, not a name: a listener binds to an address, and resolving a name at startup
// would make the bound address depend on DNS. Returns an error message, or empty on success.
QString parseBindAddress(const QString &text, BindAddress *out);

// Whether two listeners could not both bind: the same port (not 0) on the same address, or on
// the wildcard address of the same family (Linux refuses 127.0.0.1:1883 next to 0.0.0.0:1883).
bool bindsOverlap(const BindAddress &a, const BindAddress &b);

} // namespace ferry::config
