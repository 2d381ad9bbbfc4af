#include "rules/Action.h"

#include "rules/LogAction.h"
#include "rules/MessageAction.h"
#include "rules/StoreAction.h"
#include "rules/WebhookAction.h"

namespace ferry::rules {

std::unique_ptr<Action> createAction(const ActionSpec &spec, const QList<FromItem> &from,
                                     QString *error)
{
    if (spec.type == "republish" || spec.type == "bridge")
        return MessageAction::create(spec, from, error);
    if (spec.type == "log")
        return LogAction::create(spec, error);
    if (spec.type == "store")
        return StoreAction::create(spec, error);
    if (spec.type == "webhook")
        return WebhookAction::create(spec, error);
    *error = QString("unknown action type '%1' (expected republish, bridge, webhook, store, log)")
                 .arg(spec.type);
    return nullptr;
}

} // namespace ferry::rules
