#pragma once
// The rule engine: loads rules.d/*.toml, runs the matching rules for every publish and client
// event, and fires their actions.
//
// Wiring (the broker's side, all on the broker's event-loop thread):
//   engine.setActionSink(&sink);             // republish -> router, bridge -> outbox
//   engine.setStorePath(dataDir + "/rules.db");
//   engine.loadDirectory(config.rulesDir);   // at start and on SIGHUP; log report.errors
//   engine.onMessage(msg);                   // for every accepted PUBLISH, after routing
//   engine.onEvent("$events/client_connected", {{"clientid", ...}, ...});
//   engine.metrics();                        // for $SYS/rules/<name>/... and the dashboard
// Contract: onMessage/onEvent never block: no rule matches -> one topic-tree walk and return;
// a matching rule runs its compiled Lua under an instruction budget and memory cap; actions
// are asynchronous where they touch the network or disk. A rule that fails is counted and
// logged; the broker and the other rules carry on. Not thread-safe.

#include "core/Message.h"
#include "rules/RuleFile.h"
#include "rules/RuleMetrics.h"

#include <QElapsedTimer>
#include <QObject>
#include <QStringList>
#include <QTimer>
#include <QVariantMap>

#include <functional>
#include <memory>

class QNetworkAccessManager;

namespace ferry::rules {

class ActionSink;
class Clock;
class RuleInput;
class StoreDatabase;
struct CompiledRule;
struct RuleSet;
struct WindowAggregatorResult;

struct LoadReport {
    bool ok = true;
    int files = 0;
    int rules = 0;
    QList<LoadError> errors;
    QStringList lines() const; // "file:line:column: message" each
};

class RuleEngine : public QObject {
    Q_OBJECT
public:
    explicit RuleEngine(QObject *parent = nullptr);
    ~RuleEngine() override;

    // Loads every *.toml in dir (name order) atomically: the new set replaces the running one
    // only if every file parses and every rule compiles; otherwise the old set stays.
    LoadReport loadDirectory(const QString &dir);
    LoadReport loadFiles(const QStringList &files);
    LoadReport loadText(const QString &fileName, const QByteArray &toml); // one in-memory file
    // Checks without replacing anything (ferryctl rules check).
    static LoadReport check(const QStringList &files);

    void onMessage(const core::Message &message);
    // ruleHops: for an event about a message, that message's core::MessageData::ruleHops.
    void onEvent(const QByteArray &eventTopic, const QVariantMap &fields, int ruleHops = 0);
    // Whether some enabled rule's FROM matches this topic (an "$events/..." topic): the broker
    // builds an event only when a rule will read it. Constant between loads.
    bool listensTo(const QByteArray &topic) const;

    QList<RuleMetrics> metrics() const;
    QStringList ruleNames() const;

    void setClock(Clock *clock); // not owned; null = system clock
    void setActionSink(ActionSink *sink) { m_sink = sink; }
    void setStorePath(const QString &path) { m_storePath = path; }
    void setInstructionBudget(qint64 instructions) { m_budget = instructions; }
    void setMemoryLimit(size_t bytes) { m_memoryLimit = bytes; }
    // Dry run: instead of firing, each action's description goes to the callback.
    void setDryRun(std::function<void(const QString &rule, const QString &line)> describe);
    // Every output row (before actions), for tests and `ferryctl rules test`.
    void setOutputObserver(std::function<void(const QString &rule, const QVariantMap &row)> f);

    // Closes the windows whose end the clock has reached (the engine's timer calls it; tests
    // call it after moving their clock). flushWindows() closes every open window now.
    void closeDueWindows();
    void flushWindows();

    // Runs one rule on one message, whatever its FROM says (ferryctl rules test). Returns
    // false with *error when the rule is unknown or failed.
    bool runRule(const QString &name, const core::Message &message, QString *error);
    bool ruleMatchesTopic(const QString &name, const QByteArray &topic) const;

    std::shared_ptr<StoreDatabase> storeDatabase(const QString &path = QString());

private:
    LoadReport load(QList<RuleSpec> specs, LoadReport report);
    void dispatch(const RuleInput &input);
    bool execute(CompiledRule &rule, const RuleInput &input, QList<QVariantMap> *rows);
    bool finishWindows(CompiledRule &rule, bool all, QList<QVariantMap> *rows);
    void finishResults(CompiledRule &rule, const QList<WindowAggregatorResult> &closed,
                       QList<QVariantMap> *rows);
    void deliver(CompiledRule &rule, const QList<QVariantMap> &rows);
    void armWindowTimer();
    qint64 now() const;

    std::unique_ptr<RuleSet> m_set;
    Clock *m_clock = nullptr;
    std::unique_ptr<Clock> m_systemClock;
    ActionSink *m_sink = nullptr;
    QString m_storePath = QStringLiteral("ferry-rules.db");
    QHash<QString, std::shared_ptr<StoreDatabase>> m_stores;
    QNetworkAccessManager *m_network = nullptr;
    qint64 m_budget = 1000000;
    size_t m_memoryLimit = 64u << 20;
    int m_depth = 0;
    int m_inputHops = 0; // ruleHops of the input being dispatched
    std::function<void(const QString &, const QString &)> m_dryRun;
    std::function<void(const QString &, const QVariantMap &)> m_observer;
    QTimer m_windowTimer;
    QList<int> m_matchScratch;
};

} // namespace ferry::rules
