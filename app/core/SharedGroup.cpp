#include "core/SharedGroup.h"

#include "core/Session.h"

namespace ferry::core {

const SharedGroup::Member *SharedGroup::pick()
{
    const std::size_t n = members.size();
    if (n == 0)
        return nullptr;
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t at = (next + i) % n;
        if (members[at].session->isOnline()) {
            next = (at + 1) % n;
            return &members[at];
        }
    }
    const std::size_t at = next % n;
    next = (at + 1) % n;
    return &members[at];
}

} // namespace ferry::core
