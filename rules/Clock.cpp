#include "rules/Clock.h"

#include <QDateTime>

namespace ferry::rules {

qint64 SystemClock::nowMs() const
{
    return QDateTime::currentMSecsSinceEpoch();
}

} // namespace ferry::rules
