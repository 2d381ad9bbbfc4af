#pragma once
#include <QLoggingCategory>

namespace ferry::rules {
Q_DECLARE_LOGGING_CATEGORY(lcRules)
}
