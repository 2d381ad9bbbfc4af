// [[listener]]: one table per listening socket. Listener keys all need a restart: a socket is
// bound once at startup.

#include "config/BindAddress.h"
#include "config/Section.h"

namespace ferry::config {

namespace {

const QString kWhere = QStringLiteral("listener");

Keys<TlsConfig> tlsKeys()
{
    using T = TlsConfig;
    return {
        stringKey("cert", &T::cert, Reload::Restart, nonEmpty),
        stringKey("key", &T::key, Reload::Restart, nonEmpty),
        stringKey("ca", &T::ca, Reload::Restart, nonEmpty),
    };
}

// tls = { cert = "...", key = "...", ca = "..." }: cert and key together, ca optional.
QString readTls(const toml::node &node, ListenerConfig &listener, LoadContext &ctx)
{
    const toml::table *table = node.as_table();
    if (!table)
        return QStringLiteral("expected table, got %1").arg(typeName(node));
    TlsConfig tls;
    static const Keys<TlsConfig> keys = tlsKeys();
    readTable(*table, keys, kWhere + QLatin1String(".tls"), tls, ctx);
    if (!table->contains("cert") || !table->contains("key"))
        return QStringLiteral("both cert and key are required");
    listener.tls = tls;
    return {};
}

QString readBind(const toml::node &node, ListenerConfig &listener, LoadContext &)
{
    const auto *text = node.as_string();
    if (!text)
        return QStringLiteral("expected string, got %1").arg(typeName(node));
    BindAddress address;
    const QString problem = parseBindAddress(QString::fromStdString(text->get()), &address);
    if (!problem.isEmpty())
        return problem;
    listener.host = address.host;
    listener.port = address.port;
    return {};
}

QString startsWithSlash(const QString &text)
{
    return text.startsWith(QLatin1Char('/')) ? QString() : QStringLiteral("must start with '/'");
}

Keys<ListenerConfig> listenerKeys()
{
    using L = ListenerConfig;
    return {
        enumKey("protocol", &L::protocol, {"mqtt", "mqtt-ws", "amqp"}, Reload::Restart),
        {"bind", Reload::Restart, readBind,
         [](const L &a, const L &b) { return a.host == b.host && a.port == b.port; }},
        booleanKey("allow_anonymous", &L::allowAnonymous, Reload::Restart),
        stringKey("path", &L::path, Reload::Restart, startsWithSlash),
        {"tls", Reload::Restart, readTls, [](const L &a, const L &b) { return a.tls == b.tls; }},
    };
}

// One [[listener]] table: its keys, then the checks that involve several keys.
void readListener(const toml::table &table, Config &config, LoadContext &ctx)
{
    static const Keys<ListenerConfig> keys = listenerKeys();
    const int errorsBefore = ctx.errorCount();
    ListenerConfig listener;
    readTable(table, keys, kWhere, listener, ctx);

    if (!table.contains("bind"))
        listener.port = defaultPort(listener.protocol, listener.tls.enabled());
    if (const toml::node *path = table.get("path");
        path && listener.protocol != QLatin1String("mqtt-ws")) {
        ctx.error(path->source(),
                  QStringLiteral("listener.path: only valid with protocol \"mqtt-ws\", not \"%1\"")
                      .arg(listener.protocol));
    }
    listener.name = listenerName(listener);

    const toml::node *bind = table.get("bind");
    config.listeners.append(listener);
    ctx.listenerSites.append({LoadContext::at(bind ? bind->source() : table.source()),
                              ctx.errorCount() == errorsBefore});
}

void readListeners(const toml::node &node, Config &config, LoadContext &ctx)
{
    const toml::array *array = node.as_array();
    if (!array || !array->is_array_of_tables()) {
        ctx.error(node.source(),
                  QStringLiteral("listener: expected array of tables ([[listener]]), got %1")
                      .arg(typeName(node)));
        return;
    }
    for (const toml::node &element : *array)
        readListener(*element.as_table(), config, ctx);
}

BindAddress bindOf(const ListenerConfig &listener)
{
    return {listener.host, listener.port, listener.host.contains(QLatin1Char(':'))};
}

// After all files: the defaults when nobody defined a listener, and no two listeners on one
// address (the second could not bind; better to say so with both positions than at startup).
void finishListeners(Config &config, LoadContext &ctx)
{
    if (config.listeners.isEmpty()) {
        config.listeners = defaultListeners();
        return;
    }
    Q_ASSERT(ctx.listenerSites.size() == config.listeners.size());
    for (qsizetype j = 1; j < config.listeners.size(); ++j) {
        for (qsizetype i = 0; i < j; ++i) {
            if (!ctx.listenerSites[i].valid || !ctx.listenerSites[j].valid ||
                !bindsOverlap(bindOf(config.listeners[i]), bindOf(config.listeners[j])))
                continue;
            const ConfigError &first = ctx.listenerSites[i].where;
            ConfigError e = ctx.listenerSites[j].where;
            e.message = QStringLiteral("listener.bind: %1 overlaps the listener %2 at %3:%4:%5")
                            .arg(config.listeners[j].name, config.listeners[i].name, first.file)
                            .arg(first.line)
                            .arg(first.column);
            ctx.addError(e);
            break;
        }
    }
}

// Listeners are compared as a whole, by name: added, removed or changed all need a restart.
void diffListeners(const Config &a, const Config &b, QStringList &, QStringList &restart)
{
    auto find = [](const Config &c, const QString &name) -> const ListenerConfig * {
        for (const ListenerConfig &l : c.listeners) {
            if (l.name == name)
                return &l;
        }
        return nullptr;
    };
    for (const ListenerConfig &l : a.listeners) {
        const ListenerConfig *other = find(b, l.name);
        if (!other)
            restart << QStringLiteral("listener %1 (removed)").arg(l.name);
        else if (*other != l)
            restart << QStringLiteral("listener %1 (changed)").arg(l.name);
    }
    for (const ListenerConfig &l : b.listeners) {
        if (!find(a, l.name))
            restart << QStringLiteral("listener %1 (added)").arg(l.name);
    }
}

} // namespace

Section listenerSection()
{
    return {"listener", readListeners, finishListeners, diffListeners};
}

} // namespace ferry::config
