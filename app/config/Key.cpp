#include "config/Key.h"

namespace ferry::config {

QString typeName(const toml::node &node)
{
    switch (node.type()) {
    case toml::node_type::table:
        return QStringLiteral("table");
    case toml::node_type::array:
        return QStringLiteral("array");
    case toml::node_type::string:
        return QStringLiteral("string");
    case toml::node_type::integer:
        return QStringLiteral("integer");
    case toml::node_type::floating_point:
        return QStringLiteral("float");
    case toml::node_type::boolean:
        return QStringLiteral("boolean");
    case toml::node_type::date:
        return QStringLiteral("date");
    case toml::node_type::time:
        return QStringLiteral("time");
    case toml::node_type::date_time:
        return QStringLiteral("date-time");
    case toml::node_type::none:
        break;
    }
    return QStringLiteral("nothing");
}

QString expectedOneOf(const QStringList &names)
{
    return QLatin1String("expected one of: ") + names.join(QLatin1String(", "));
}

QString nonEmpty(const QString &text)
{
    return text.isEmpty() ? QStringLiteral("must not be empty") : QString();
}

} // namespace ferry::config
