#pragma once

// Internal: what one load carries from file to file: the errors found so far and the positions
// that later checks (duplicate listeners) need to point at. Not part of the public API.

#include "config/Config.h"

#include <toml++/toml.h>

namespace ferry::config {

class LoadContext {
public:
    // Records a problem at a position toml++ reported (a key, a value or a table header).
    void error(const toml::source_region &where, const QString &message);
    // Records a problem with a whole file (it cannot be read, ...).
    void fileError(const QString &file, const QString &message);
    void addError(const ConfigError &error) { m_errors.append(error); }
    int errorCount() const { return int(m_errors.size()); }

    bool hasErrors() const { return !m_errors.isEmpty(); }
    // Errors ordered by file (in `fileOrder`), then line, then column.
    QList<ConfigError> sortedErrors(const QStringList &fileOrder) const;

    // Where each listener's `bind` (or, without one, its table) was written; index-aligned with
    // Config::listeners while loading, so the duplicate check can name both places. `valid` is
    // false when the listener's table had errors: it then takes no part in the duplicate check.
    struct Site {
        ConfigError where;
        bool valid = true;
    };
    QList<Site> listenerSites;

    static ConfigError at(const toml::source_region &where);

private:
    QList<ConfigError> m_errors;
};

} // namespace ferry::config
