#pragma once
// An action runs for each output row of a rule: republish, bridge, webhook, store, log.
// Actions are built and validated at load (bad parameters are load errors with a position)
// and fire on the engine's thread without blocking it.

#include "rules/RuleFile.h"
#include "rules/RuleMetrics.h"

#include <QByteArray>
#include <QVariantMap>

#include <functional>
#include <memory>

class QNetworkAccessManager;

namespace ferry::rules {

class ActionSink;
class Clock;
class StoreDatabase;
struct FromItem;

// What the engine lends to actions while they fire.
struct ActionEnv {
    ActionSink *sink = nullptr;
    const Clock *clock = nullptr;
    std::function<QNetworkAccessManager *()> network;                     // created on first use
    std::function<std::shared_ptr<StoreDatabase>(const QString &)> store; // by database path
    int republishDepth = 0; // how many republishes deep this execution is
};

class Action {
public:
    virtual ~Action() = default;
    virtual QByteArray type() const = 0;
    // Fires for one row. Returns false with *error when it failed at once. An asynchronous
    // action (webhook) counts its own outcome into metrics later and returns true.
    virtual bool fire(const QVariantMap &row, ActionEnv &env,
                      const std::shared_ptr<RuleMetrics> &metrics, QString *error) = 0;
    // One line saying what fire() would do (for `ferryctl rules test`).
    virtual QString describe(const QVariantMap &row) const = 0;
};

// Builds an action from its TOML table. `from` are the rule's FROM filters (republish loop
// detection). Returns null with *error (a message for spec's position) when invalid.
std::unique_ptr<Action> createAction(const ActionSpec &spec, const QList<FromItem> &from,
                                     QString *error);

} // namespace ferry::rules
