#include "config/ConfigLoader.h"

#include "config/Section.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

#include <algorithm>

namespace ferry::config {

namespace {

QString topLevelNames()
{
    QStringList names;
    for (const Section &s : sections())
        names << QLatin1String(s.name);
    return expectedOneOf(names);
}

QString unknownTopLevel(const QString &name, const toml::node &node)
{
    if (node.is_table())
        return QStringLiteral("unknown table [%1]; %2").arg(name, topLevelNames());
    if (node.is_array_of_tables())
        return QStringLiteral("unknown table [[%1]]; %2").arg(name, topLevelNames());
    return QStringLiteral("unknown key '%1' at top level; %2").arg(name, topLevelNames());
}

// Parses one document and applies each of its top-level names through the section table.
void applyDocument(const QByteArray &utf8, const QString &fileName, Config &config,
                   LoadContext &ctx)
{
    toml::table document;
    try {
        document = toml::parse(std::string_view(utf8.constData(), size_t(utf8.size())),
                               fileName.toStdString());
    } catch (const toml::parse_error &e) {
        ctx.error(e.source(), QString::fromStdString(std::string(e.description())));
        return;
    } catch (const std::exception &e) {
        ctx.fileError(fileName, QStringLiteral("cannot parse: %1").arg(e.what()));
        return;
    }
    for (auto &&[key, node] : document) {
        const std::string_view name = key.str();
        const auto section = std::find_if(sections().begin(), sections().end(),
                                          [&](const Section &s) { return name == s.name; });
        if (section == sections().end()) {
            ctx.error(key.source(),
                      unknownTopLevel(QString::fromStdString(std::string(name)), node));
            continue;
        }
        section->read(node, config, ctx);
    }
}

bool readFile(const QString &path, Config &config, LoadContext &ctx)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        ctx.fileError(path, QStringLiteral("cannot read: %1").arg(file.errorString()));
        return false;
    }
    const QByteArray bytes = file.readAll();
    config.sourceFiles << path;
    applyDocument(bytes, path, config, ctx);
    return true;
}

// conf.d/*.toml next to the main file, sorted by name in byte order (not locale order, so that
// "10-a.toml" < "9-b.toml" on every machine, as with ls in the C locale).
QStringList confDFiles(const QString &mainPath)
{
    const QDir dir(QFileInfo(mainPath).dir().filePath(QStringLiteral("conf.d")));
    QStringList names =
        dir.entryList({QStringLiteral("*.toml")}, QDir::Files | QDir::Readable, QDir::NoSort);
    std::sort(names.begin(), names.end());
    QStringList paths;
    for (const QString &name : names)
        paths << QFileInfo(mainPath).dir().filePath(QStringLiteral("conf.d/") + name);
    return paths;
}

LoadResult finish(Config config, LoadContext &ctx)
{
    for (const Section &s : sections()) {
        if (s.finish)
            s.finish(config, ctx);
    }
    LoadResult result;
    if (ctx.hasErrors())
        result.errors = ctx.sortedErrors(config.sourceFiles);
    else
        result.config = std::move(config);
    return result;
}

} // namespace

LoadResult loadConfigFile(const QString &path)
{
    Config config;
    LoadContext ctx;
    if (!path.isEmpty()) {
        if (!readFile(path, config, ctx))
            return {std::nullopt, ctx.sortedErrors(config.sourceFiles)};
        for (const QString &extra : confDFiles(path))
            readFile(extra, config, ctx);
    }
    return finish(std::move(config), ctx);
}

LoadResult loadConfigText(const QString &text, const QString &fileNameForErrors)
{
    Config config;
    LoadContext ctx;
    config.sourceFiles << fileNameForErrors;
    applyDocument(text.toUtf8(), fileNameForErrors, config, ctx);
    return finish(std::move(config), ctx);
}

} // namespace ferry::config
