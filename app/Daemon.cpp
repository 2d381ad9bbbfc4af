#include "Daemon.h"

#include "config/ConfigLoader.h"
#include "config/ConfigReload.h"
#include "mqtt/Connection.h"
#include "net/TcpListener.h"
#include "net/WebSocketListener.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QDir>
#include <QFileInfo>

#include <chrono>
#include <QLoggingCategory>
#include <QTimer>

#include <csignal>
#include <sys/socket.h>
#include <unistd.h>

#ifdef FERRY_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

Q_LOGGING_CATEGORY(lcDaemon, "ferry.daemon")

namespace ferry {

namespace {
int g_signalPipe[2] = {-1, -1};

void signalHandler(int signal)
{
    const char byte = char(signal);
    // write() is async-signal-safe; the event loop reads it from the other end.
    [[maybe_unused]] const ssize_t ignored = ::write(g_signalPipe[1], &byte, 1);
}

core::Limits toCoreLimits(const config::LimitsConfig &l)
{
    core::Limits limits;
    limits.maxInflight = l.maxInflight;
    limits.maxQueuedMessages = l.maxQueuedMessages;
    limits.overflow = l.queueOverflow == QLatin1String("refuse") ? core::OverflowPolicy::Refuse
                                                                 : core::OverflowPolicy::DropOldest;
    limits.maxTopicLevels = l.maxTopicLevels;
    return limits;
}

mqtt::ProtocolSettings toProtocolSettings(const config::LimitsConfig &l)
{
    mqtt::ProtocolSettings s;
    s.maxPacketSize = l.maxPacketSize;
    s.receiveMaximum = l.receiveMaximum;
    s.maxTopicAlias = l.maxTopicAlias;
    s.maxKeepAlive = l.maxKeepAlive;
    s.connectTimeoutMs = l.connectTimeout * 1000;
    s.maxTopicLevels = int(l.maxTopicLevels);
    return s;
}
} // namespace

void applyLogLevel(const QString &level)
{
    QString rules = QStringLiteral("ferry.*.debug=false\n");
    if (level == QLatin1String("debug"))
        rules = QStringLiteral("ferry.*.debug=true\n");
    else if (level == QLatin1String("warning"))
        rules += QStringLiteral("ferry.*.info=false\n");
    else if (level == QLatin1String("error"))
        rules += QStringLiteral("ferry.*.info=false\nferry.*.warning=false\n");
    QLoggingCategory::setFilterRules(rules);
}

Daemon::Daemon(config::Config config, QString configPath, QObject *parent)
    : QObject(parent), m_config(std::move(config)), m_configPath(std::move(configPath)),
      m_broker(toCoreLimits(m_config.limits)), m_sys(m_broker, FERRY_VERSION)
{
}

Daemon::~Daemon()
{
    // Release the connections while the broker, rules and storage still exist.
    m_connections.deleteAll();
}

bool Daemon::openStorage()
{
    const auto started = std::chrono::steady_clock::now();
    storage::StoreOptions options;
    options.path = m_config.storage.path;
    options.sync = m_config.storage.sync == QLatin1String("full")  ? storage::SyncMode::Full
                   : m_config.storage.sync == QLatin1String("off") ? storage::SyncMode::Off
                                                                    : storage::SyncMode::Normal;
    options.maxDiskBytes = m_config.storage.maxDiskBytes;
    storage::OpenError error;
    m_store = storage::Store::open(options, &error);
    if (!m_store) {
        qCCritical(lcDaemon, "storage_error %s", qPrintable(error.message));
        return false;
    }
    m_persistence = std::make_unique<storage::StorePersistence>(*m_store);
    QList<core::RestoredSession> sessions;
    QList<core::Message> retained;
    QList<core::RestoredWill> wills;
    QString readError;
    if (!m_persistence->load(QDateTime::currentMSecsSinceEpoch(), &sessions, &retained, &wills, &readError)) {
        qCCritical(lcDaemon, "storage_error %s", qPrintable(readError));
        return false;
    }
    m_broker.setPersistence(m_persistence.get());
    m_broker.restore(sessions, retained, wills);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    qCInfo(lcDaemon, "storage_open path=%s sync=%s restore_ms=%lld", qPrintable(options.path),
           qPrintable(m_config.storage.sync), static_cast<long long>(ms.count()));
    return true;
}

bool Daemon::start()
{
    if (!openStorage())
        return false;
    const QString rulesStore = QFileInfo(m_config.storage.path).absoluteDir().filePath(QStringLiteral("rules.db"));
    m_rules = std::make_unique<RuleWiring>(m_broker, m_config.rules.dir, rulesStore, this);
    if (!m_rules->reload(m_config.rules.dir))
        return false;   // at start-up a broken rule file is an error, not a silent gap
    connect(&m_sys, &core::SysPublisher::published, m_rules.get(), &RuleWiring::publishMetrics);
    for (const config::ListenerConfig &lc : m_config.listeners) {
        auto slot = std::make_unique<ListenerSlot>();
        slot->config = lc;
        slot->protocol = mqtt::SharedProtocolSettings(toProtocolSettings(m_config.limits));
        slot->adapter.allowAnonymous = lc.allowAnonymous;
        slot->adapter.maxConnections = m_config.limits.maxConnections;
        if (lc.tls.enabled()) {
            qCCritical(lcDaemon, "listener=%s error=TLS listeners are not available in this build yet; remove tls or the listener",
                       qPrintable(lc.name));
            return false;
        }
        if (lc.protocol == QLatin1String("mqtt")) {
            slot->listener = new net::TcpListener(this);
        } else if (lc.protocol == QLatin1String("mqtt-ws")) {
            slot->listener = new net::WebSocketListener(lc.path, m_config.limits.maxPacketSize,
                                                        int(m_config.limits.connectTimeout) * 1000, this);
        } else {
            qCCritical(lcDaemon, "listener=%s error=protocol '%s' is not available in this build yet",
                       qPrintable(lc.name), qPrintable(lc.protocol));
            return false;
        }
        QString error;
        if (!slot->listener->listen(QHostAddress(lc.host), lc.port, &error)) {
            qCCritical(lcDaemon, "listener=%s error=cannot bind: %s", qPrintable(lc.name), qPrintable(error));
            return false;
        }
        ListenerSlot *raw = slot.get();
        connect(slot->listener, &net::Listener::newTransport, this,
                [this, raw](net::Transport *t) { accept(*raw, t); });
        // Tests and scripts read the bound port from this line (bind port 0 picks a free one).
        qCInfo(lcDaemon, "listening protocol=%s address=%s port=%u", qPrintable(lc.protocol),
               qPrintable(lc.host), slot->listener->boundPort());
        m_listeners.push_back(std::move(slot));
    }
    m_sys.setInterval(m_config.sys.interval);
    if (m_config.sys.interval != 0)
        QTimer::singleShot(0, &m_sys, &core::SysPublisher::publishAll);
#ifdef FERRY_HAVE_SYSTEMD
    sd_notify(0, "READY=1");
    uint64_t watchdogUsec = 0;
    if (sd_watchdog_enabled(0, &watchdogUsec) > 0) {
        auto *watchdog = new QTimer(this);
        connect(watchdog, &QTimer::timeout, this, [] { sd_notify(0, "WATCHDOG=1"); });
        watchdog->start(int(watchdogUsec / 2000));
    }
#endif
    qCInfo(lcDaemon, "ready version=%s listeners=%d", FERRY_VERSION, int(m_listeners.size()));
    return true;
}

void Daemon::accept(ListenerSlot &slot, net::Transport *transport)
{
    if (m_stopping) {
        delete transport;   // not started: no call of its is on the stack
        return;
    }
    auto *connection = new mqtt::Connection(transport, m_broker, slot.protocol, slot.adapter,
                                            m_rules.get(), m_connections);
    connection->start();
}

void Daemon::applyLimits()
{
    m_broker.setLimits(toCoreLimits(m_config.limits));
    for (auto &slot : m_listeners) {
        slot->protocol = mqtt::SharedProtocolSettings(toProtocolSettings(m_config.limits));
        slot->adapter.maxConnections = m_config.limits.maxConnections;
    }
}

void Daemon::reload()
{
#ifdef FERRY_HAVE_SYSTEMD
    sd_notify(0, "RELOADING=1");
#endif
    const config::LoadResult loaded = config::loadConfigFile(m_configPath);
    if (!loaded.config) {
        for (const config::ConfigError &e : loaded.errors)
            qCCritical(lcDaemon, "reload_refused %s", qPrintable(e.toString()));
        qCWarning(lcDaemon, "reload_refused the running configuration stays in force");
    } else {
        QStringList needsRestart;
        const QStringList applied = config::reloadableDifferences(m_config, *loaded.config, &needsRestart);
        config::Config next = *loaded.config;
        // What cannot change live keeps its running value, so the next reload compares
        // against what is really in force.
        next.listeners = m_config.listeners;
        next.storage = m_config.storage;
        m_config = next;
        applyLogLevel(m_config.log.level);
        applyLimits();
        m_sys.setInterval(m_config.sys.interval);
        m_rules->reload(m_config.rules.dir);
        qCInfo(lcDaemon, "reloaded applied=[%s] needs_restart=[%s]", qPrintable(applied.join(',')),
               qPrintable(needsRestart.join(',')));
    }
#ifdef FERRY_HAVE_SYSTEMD
    sd_notify(0, "READY=1");
#endif
}

void Daemon::stop()
{
    if (m_stopping)
        return;
    m_stopping = true;
#ifdef FERRY_HAVE_SYSTEMD
    sd_notify(0, "STOPPING=1");
#endif
    qCInfo(lcDaemon, "stopping");
    for (auto &slot : m_listeners)
        slot->listener->close();
    for (mqtt::Connection *c : m_connections.open())
        c->serverShutdown();
    m_broker.shutdown();
    // Give the DISCONNECTs a moment to flush, bounded; then commit what is queued.
    QTimer::singleShot(200, qApp, [this] {
        m_connections.deleteAll();   // releases sessions (and records their disconnect time)
        if (m_store)
            m_store->flush();
        QCoreApplication::quit();
    });
}

bool Daemon::installSignalHandlers()
{
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, g_signalPipe) != 0)
        return false;
    m_signalNotifier = new QSocketNotifier(g_signalPipe[0], QSocketNotifier::Read, this);
    connect(m_signalNotifier, &QSocketNotifier::activated, this, &Daemon::onSignal);
    struct sigaction action = {};
    action.sa_handler = signalHandler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGHUP, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGINT, &action, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    return true;
}

void Daemon::onSignal()
{
    char byte = 0;
    if (::read(g_signalPipe[0], &byte, 1) != 1)
        return;
    if (byte == SIGHUP)
        reload();
    else
        stop();
}

} // namespace ferry
