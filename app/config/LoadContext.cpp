#include "config/LoadContext.h"

#include <algorithm>

namespace ferry::config {

ConfigError LoadContext::at(const toml::source_region &where)
{
    ConfigError e;
    if (where.path)
        e.file = QString::fromStdString(*where.path);
    e.line = int(where.begin.line);
    e.column = int(where.begin.column);
    return e;
}

void LoadContext::error(const toml::source_region &where, const QString &message)
{
    ConfigError e = at(where);
    e.message = message;
    m_errors.append(e);
}

void LoadContext::fileError(const QString &file, const QString &message)
{
    m_errors.append(ConfigError{file, 0, 0, message});
}

QList<ConfigError> LoadContext::sortedErrors(const QStringList &fileOrder) const
{
    // toml++ tables iterate in key order, not source order: sort so that a user reads the errors
    // top to bottom, file by file.
    QList<ConfigError> sorted = m_errors;
    auto rank = [&](const ConfigError &e) {
        const qsizetype i = fileOrder.indexOf(e.file);
        return std::make_tuple(i < 0 ? fileOrder.size() : i, e.line, e.column);
    };
    std::stable_sort(sorted.begin(), sorted.end(),
                     [&](const ConfigError &a, const ConfigError &b) { return rank(a) < rank(b); });
    return sorted;
}

} // namespace ferry::config
