#pragma once

// Internal: the key descriptor and the one loop that reads a TOML table through a list of them.
// Instead of one long function with an `if` per key (mosquitto's conf.c), every key is a row:
// its name, whether a change applies while running, how to read it (type check, range or enum
// check, store) and how to compare it. Defaults are the member initialisers in Config.h.

#include "config/LoadContext.h"

#include <functional>
#include <limits>
#include <vector>

namespace ferry::config {

enum class Reload {
    Live,    // a SIGHUP applies the new value to the running broker
    Restart, // the new value takes effect only after a restart
};

// The user-facing name of a TOML value's type, as used in "expected integer, got string".
QString typeName(const toml::node &node);

template <class Target> struct Key {
    const char *name;
    Reload reload;
    // Reads `node` into `target`. Returns a message about `node` itself (reported at the
    // value's position), or an empty string. Nested problems go straight to `ctx`.
    std::function<QString(const toml::node &node, Target &target, LoadContext &ctx)> read;
    // Whether two targets agree on this key (for reload classification).
    std::function<bool(const Target &a, const Target &b)> same;
};

template <class Target> using Keys = std::vector<Key<Target>>;

QString expectedOneOf(const QStringList &names);

template <class Target> QStringList keyNames(const Keys<Target> &keys)
{
    QStringList names;
    for (const Key<Target> &k : keys)
        names << QLatin1String(k.name);
    return names;
}

// The one loop. `where` names the table in messages: "limits", "listener", "listener.tls".
// Unknown keys are reported at the key's position, bad values at the value's position, and
// every key is visited so that all errors are collected, not only the first.
template <class Target>
void readTable(const toml::table &table, const Keys<Target> &keys, const QString &where,
               Target &target, LoadContext &ctx)
{
    for (auto &&[tomlKey, node] : table) {
        const QString name = QString::fromStdString(std::string(tomlKey.str()));
        const Key<Target> *key = nullptr;
        for (const Key<Target> &k : keys) {
            if (name == QLatin1String(k.name))
                key = &k;
        }
        if (!key) {
            ctx.error(tomlKey.source(), QStringLiteral("unknown key '%1' in [%2]; %3")
                                            .arg(name, where, expectedOneOf(keyNames(keys))));
            continue;
        }
        const QString problem = key->read(node, target, ctx);
        if (!problem.isEmpty())
            ctx.error(node.source(),
                      where + QLatin1Char('.') + name + QLatin1String(": ") + problem);
    }
}

// Row builders for the common kinds of key.

// An integer stored in an unsigned member, accepted in [min, max].
template <class Target, class T>
Key<Target> integerKey(const char *name, T Target::*field, qint64 min, qint64 max, Reload reload)
{
    static_assert(std::is_integral_v<T>);
    Q_ASSERT(min >= qint64(std::numeric_limits<T>::min()));
    Q_ASSERT(quint64(max) <= quint64(std::numeric_limits<T>::max()));
    return {name, reload,
            [=](const toml::node &node, Target &t, LoadContext &) -> QString {
                const auto *v = node.as_integer();
                if (!v)
                    return QStringLiteral("expected integer, got %1").arg(typeName(node));
                const qint64 n = v->get();
                if (n < min || n > max)
                    return QStringLiteral("%1 is out of range %2..%3").arg(n).arg(min).arg(max);
                t.*field = T(n);
                return {};
            },
            [=](const Target &a, const Target &b) { return a.*field == b.*field; }};
}

template <class Target> Key<Target> booleanKey(const char *name, bool Target::*field, Reload reload)
{
    return {name, reload,
            [=](const toml::node &node, Target &t, LoadContext &) -> QString {
                const auto *v = node.as_boolean();
                if (!v)
                    return QStringLiteral("expected boolean, got %1").arg(typeName(node));
                t.*field = v->get();
                return {};
            },
            [=](const Target &a, const Target &b) { return a.*field == b.*field; }};
}

// A string; `check` returns a message when the text is not acceptable (empty = fine).
template <class Target>
Key<Target> stringKey(const char *name, QString Target::*field, Reload reload,
                      std::function<QString(const QString &)> check = {})
{
    return {name, reload,
            [=](const toml::node &node, Target &t, LoadContext &) -> QString {
                const auto *v = node.as_string();
                if (!v)
                    return QStringLiteral("expected string, got %1").arg(typeName(node));
                const QString text = QString::fromStdString(v->get());
                if (check) {
                    const QString problem = check(text);
                    if (!problem.isEmpty())
                        return problem;
                }
                t.*field = text;
                return {};
            },
            [=](const Target &a, const Target &b) { return a.*field == b.*field; }};
}

// A string that must be one of `values`.
template <class Target>
Key<Target> enumKey(const char *name, QString Target::*field, const QStringList &values,
                    Reload reload)
{
    return stringKey<Target>(name, field, reload, [values](const QString &text) -> QString {
        if (values.contains(text))
            return {};
        return QStringLiteral("invalid value '%1'; %2").arg(text, expectedOneOf(values));
    });
}

// Check for stringKey: the value must not be empty.
QString nonEmpty(const QString &text);

} // namespace ferry::config
