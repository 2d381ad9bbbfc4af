#include "rules/Logging.h"

namespace ferry::rules {
Q_LOGGING_CATEGORY(lcRules, "ferry.rules")
}
