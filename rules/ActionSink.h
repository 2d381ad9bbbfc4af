#pragma once
// Where the rule engine hands messages that leave it. The broker implements this.
//
// Contract: called on the engine's thread (the broker's event loop), synchronously from
// RuleEngine::onMessage/onEvent or from a window closing on the engine's timer. The sink takes
// the message by value (Message is implicitly shared) and must not block. republish() may call
// back into RuleEngine::onMessage synchronously (the router taps every publish); the engine
// bounds that recursion (see RuleEngine::kMaxRepublishDepth).

#include "core/Message.h"

#include <QString>

namespace ferry::rules {

class ActionSink {
public:
    virtual ~ActionSink() = default;
    // Publish into the broker's router as if a client had published it.
    virtual void republish(const core::Message &message) = 0;
    // Forward to the named bridge's outbox (the later bridge issue implements it).
    virtual void bridge(const QString &bridgeName, const core::Message &message) = 0;
};

} // namespace ferry::rules
