// ferryctl: operator's command line for Ferry.

#include "RulesCommand.h"

#include <QCoreApplication>
#include <QLoggingCategory>
#include <QTextStream>

#include <cstdio>

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName("ferryctl");
    // The engine's own logging is for the daemon's journal; the tool prints its results itself.
    QLoggingCategory::setFilterRules("ferry.rules.info=false\nferry.rules.warning=false");
    QTextStream out(stdout);
    QTextStream err(stderr);
    QStringList args = app.arguments().mid(1);
    if (args.value(0) == "--version") {
        out << "ferryctl " << FERRY_VERSION << "\n";
        return 0;
    }
    if (args.value(0) == "rules")
        return ferry::ctl::runRulesCommand(args.mid(1), out, err);
    err << "usage: ferryctl rules check [DIR|FILE]\n"
           "       ferryctl rules test FILE --rule NAME --topic TOPIC --payload TEXT [...]\n"
           "       ferryctl --version\n";
    return 2;
}
