#include "config/ConfigReload.h"

#include "config/Section.h"

namespace ferry::config {

QStringList reloadableDifferences(const Config &running, const Config &next,
                                  QStringList *needsRestart)
{
    QStringList live;
    QStringList restart;
    for (const Section &s : sections())
        s.diff(running, next, live, restart);
    if (needsRestart)
        *needsRestart << restart;
    return live;
}

} // namespace ferry::config
