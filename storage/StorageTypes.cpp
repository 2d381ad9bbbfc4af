#include "storage/StorageTypes.h"

namespace ferry::storage {

const char *statusName(StorageStatus s)
{
    switch (s) {
    case StorageStatus::Ok:
        return "ok";
    case StorageStatus::Full:
        return "full";
    case StorageStatus::Busy:
        return "busy";
    case StorageStatus::IoError:
        return "io_error";
    case StorageStatus::Corrupt:
        return "corrupt";
    case StorageStatus::Closed:
        return "closed";
    case StorageStatus::NotFound:
        return "not_found";
    case StorageStatus::Error:
        return "error";
    }
    return "unknown";
}

} // namespace ferry::storage
