#pragma once

// Internal: a top-level part of the file ([limits], [[listener]], ...). The list of sections in
// Schema.cpp is the whole schema; adding a section is adding a member to Config, its key rows
// and one line to that list.

#include "config/Key.h"

namespace ferry::config {

struct Section {
    const char *name;
    // Reads what one file has under this top-level name (a table, an array of tables, or
    // something wrong). Called once per file that mentions the section, in file order, so later
    // files override scalar keys and may append to arrays.
    std::function<void(const toml::node &node, Config &config, LoadContext &ctx)> read;
    // After every file was read: defaults that depend on the whole set, cross-file checks.
    std::function<void(Config &config, LoadContext &ctx)> finish;
    // Adds the dotted names of keys that differ between `a` and `b` to `live` or `restart`.
    std::function<void(const Config &a, const Config &b, QStringList &live, QStringList &restart)>
        diff;
};

// A section that is a single table of scalar keys stored in `Config::*member`.
template <class S> Section tableSection(const char *name, S Config::*member, Keys<S> keys)
{
    const QString where = QLatin1String(name);
    return {name,
            [=](const toml::node &node, Config &config, LoadContext &ctx) {
                const toml::table *table = node.as_table();
                if (!table) {
                    ctx.error(
                        node.source(),
                        QStringLiteral("%1: expected table, got %2").arg(where, typeName(node)));
                    return;
                }
                readTable(*table, keys, where, config.*member, ctx);
            },
            {},
            [=](const Config &a, const Config &b, QStringList &live, QStringList &restart) {
                for (const Key<S> &k : keys) {
                    if (k.same(a.*member, b.*member))
                        continue;
                    (k.reload == Reload::Live ? live : restart)
                        << where + QLatin1Char('.') + QLatin1String(k.name);
                }
            }};
}

// The [[listener]] array of tables (ListenerSection.cpp).
Section listenerSection();

// Every section, in the order documented.
const std::vector<Section> &sections();

} // namespace ferry::config
