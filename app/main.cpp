// ferryd: the Ferry broker daemon.
#include "Daemon.h"
#include "config/ConfigLoader.h"
#include "net/EpollEventDispatcher.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QFileInfo>

#include <cstdio>
#include <cstdlib>

namespace {

// Under systemd, stderr goes to the journal: a "<N>" prefix gives each line its priority
// (sd-daemon(3)). On a terminal the prefix would be noise, so it is added only when
// JOURNAL_STREAM says stderr is the journal.
bool g_journal = false;

void logHandler(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    const char *prefix = "";
    const char *level = "info";
    switch (type) {
    case QtDebugMsg: prefix = "<7>"; level = "debug"; break;
    case QtInfoMsg: prefix = "<6>"; level = "info"; break;
    case QtWarningMsg: prefix = "<4>"; level = "warning"; break;
    case QtCriticalMsg: prefix = "<3>"; level = "error"; break;
    case QtFatalMsg: prefix = "<2>"; level = "fatal"; break;
    }
    const QByteArray text = message.toUtf8();
    const char *category = context.category ? context.category : "ferry";
    if (g_journal)
        std::fprintf(stderr, "%s%s: %s\n", prefix, category, text.constData());
    else
        std::fprintf(stderr, "%s %s: %s\n", level, category, text.constData());
    if (type == QtFatalMsg)
        std::abort();
}

int printErrors(const QList<ferry::config::ConfigError> &errors)
{
    for (const auto &e : errors)
        std::fprintf(stderr, "%s\n", qPrintable(e.toString()));
    return 1;
}

} // namespace

int main(int argc, char *argv[])
{
    g_journal = qEnvironmentVariableIsSet("JOURNAL_STREAM");
    qInstallMessageHandler(logHandler);
    // epoll instead of Qt's glib/poll dispatchers, which scan every descriptor on every wakeup
    // (net/EpollEventDispatcher.h). FERRY_EVENT_DISPATCHER=qt keeps Qt's, for comparison.
    if (qgetenv("FERRY_EVENT_DISPATCHER") != "qt")
        QCoreApplication::setEventDispatcher(new ferry::net::EpollEventDispatcher);
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("ferryd"));
    QCoreApplication::setApplicationVersion(QStringLiteral(FERRY_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Ferry edge message broker (MQTT 3.1.1/5.0)"));
    parser.addHelpOption();
    parser.addVersionOption();
    QCommandLineOption configOption(QStringList{QStringLiteral("c"), QStringLiteral("config")},
                                    QStringLiteral("Read configuration from <file> (and conf.d/ beside it)."),
                                    QStringLiteral("file"));
    QCommandLineOption checkOption(QStringLiteral("check-config"),
                                   QStringLiteral("Check <file> (and its conf.d/), print errors as file:line:column, and exit."),
                                   QStringLiteral("file"));
    parser.addOption(configOption);
    parser.addOption(checkOption);
    parser.process(app);

    if (parser.isSet(checkOption)) {
        const auto result = ferry::config::loadConfigFile(parser.value(checkOption));
        if (!result.config)
            return printErrors(result.errors);
        std::fprintf(stdout, "%s: OK\n", qPrintable(parser.value(checkOption)));
        return 0;
    }

    const QString configPath = parser.value(configOption);
    const auto loaded = ferry::config::loadConfigFile(configPath);
    if (!loaded.config)
        return printErrors(loaded.errors);
    ferry::applyLogLevel(loaded.config->log.level);

    ferry::Daemon daemon(*loaded.config, configPath);
    if (!daemon.installSignalHandlers()) {
        std::fprintf(stderr, "ferryd: cannot install signal handlers\n");
        return 1;
    }
    if (!daemon.start())
        return 1;
    return app.exec();
}
