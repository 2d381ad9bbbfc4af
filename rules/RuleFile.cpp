#include "rules/RuleFile.h"

#include <QFile>

#include <toml++/toml.h>

namespace ferry::rules {

namespace {

bool isContinuation(char c)
{
    return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

QVariant fromToml(const toml::node &n)
{
    if (auto s = n.as_string())
        return QByteArray::fromStdString(s->get());
    if (auto i = n.as_integer())
        return QVariant::fromValue<qint64>(i->get());
    if (auto f = n.as_floating_point())
        return f->get();
    if (auto b = n.as_boolean())
        return b->get();
    if (auto a = n.as_array()) {
        QVariantList l;
        for (const auto &e : *a)
            l.append(fromToml(e));
        return l;
    }
    if (auto t = n.as_table()) {
        QVariantMap m;
        for (const auto &[k, v] : *t)
            m.insert(QString::fromUtf8(k.str().data(), qsizetype(k.str().size())), fromToml(v));
        return m;
    }
    return QVariant();
}

// Maps each byte of a TOML string's value to its offset in the file. Literal strings map one
// to one; basic strings undo escapes; a multi-line string drops the newline right after its
// opening delimiter (TOML 1.0: "A newline immediately following the opening delimiter will be
// trimmed"), and a line-ending backslash drops the whitespace after it.
bool mapStringOffsets(const QByteArray &file, qsizetype start, const QByteArray &value,
                      QList<qsizetype> *offsets)
{
    offsets->clear();
    if (start < 0 || start >= file.size())
        return false;
    const char q = file[start];
    if (q != '\'' && q != '"')
        return false;
    const bool multi = file.mid(start, 3) == QByteArray(3, q);
    const bool literal = q == '\'';
    qsizetype i = start + (multi ? 3 : 1);
    if (multi) {
        if (file.mid(i, 2) == "\r\n")
            i += 2;
        else if (i < file.size() && file[i] == '\n')
            ++i;
    }
    QByteArray decoded;
    while (decoded.size() < value.size() && i < file.size()) {
        const char c = file[i];
        // A parser may normalise CRLF inside multi-line strings to LF.
        if (c == '\r' && i + 1 < file.size() && file[i + 1] == '\n' &&
            value[decoded.size()] == '\n') {
            ++i;
            continue;
        }
        if (literal || c != '\\') {
            decoded += c;
            offsets->append(i++);
            continue;
        }
        const char e = i + 1 < file.size() ? file[i + 1] : 0;
        if (multi && (e == ' ' || e == '\t' || e == '\n' || e == '\r')) {
            i += 1;
            while (i < file.size() && QByteArray(" \t\r\n").contains(file[i]))
                ++i;
            continue;
        }
        const qsizetype escStart = i;
        if (e == 'u' || e == 'U') {
            const int digits = e == 'u' ? 4 : 8;
            const uint cp = file.mid(i + 2, digits).toUInt(nullptr, 16);
            const QByteArray utf8 =
                QString::fromUcs4(reinterpret_cast<const char32_t *>(&cp), 1).toUtf8();
            for (int k = 0; k < utf8.size(); ++k)
                offsets->append(escStart);
            decoded += utf8;
            i += 2 + digits;
            continue;
        }
        static const char from[] = "btnfr\"\\";
        static const char to[] = "\b\t\n\f\r\"\\";
        const char *p = std::strchr(from, e);
        decoded += p && e ? to[p - from] : e;
        offsets->append(escStart);
        i += 2;
    }
    offsets->append(i);
    return decoded == value;
}

} // namespace

QString LoadError::toString() const
{
    return QString("%1:%2:%3: %4").arg(file).arg(line).arg(column).arg(message);
}

SourceText::SourceText(QString path, QByteArray text)
    : m_path(std::move(path)), m_text(std::move(text))
{
    m_lineStarts.append(0);
    for (qsizetype i = 0; i < m_text.size(); ++i)
        if (m_text[i] == '\n')
            m_lineStarts.append(i + 1);
}

LoadError SourceText::errorAt(qsizetype offset, const QString &message) const
{
    offset = qBound<qsizetype>(0, offset, m_text.size());
    const auto it = std::upper_bound(m_lineStarts.begin(), m_lineStarts.end(), offset);
    const int line = int(it - m_lineStarts.begin());
    const qsizetype lineStart = m_lineStarts[line - 1];
    int column = 1;
    for (qsizetype i = lineStart; i < offset; ++i)
        if (!isContinuation(m_text[i]))
            ++column;
    return {m_path, line, column, message};
}

qsizetype SourceText::offsetOf(int line, int column) const
{
    if (line < 1 || line > m_lineStarts.size())
        return -1;
    qsizetype i = m_lineStarts[line - 1];
    for (int c = 1; c < column && i < m_text.size(); ++i)
        if (i + 1 >= m_text.size() || !isContinuation(m_text[i + 1]))
            ++c;
    return i;
}

LoadError RuleSpec::sqlError(int sqlOffset, const QString &message) const
{
    if (sqlOffsets.size() == sql.size() + 1 && sqlOffset >= 0 && sqlOffset <= sql.size())
        return source->errorAt(sqlOffsets[sqlOffset], message);
    return error(line, column, message);
}

LoadError RuleSpec::error(int l, int c, const QString &message) const
{
    return {source ? source->path() : QString(), l, c, message};
}

void RuleFile::load(const QString &path, QList<RuleSpec> *rules, QList<LoadError> *errors)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        errors->append({path, 0, 0, "cannot read: " + f.errorString()});
        return;
    }
    loadText(path, f.readAll(), rules, errors);
}

void RuleFile::loadText(const QString &path, const QByteArray &text, QList<RuleSpec> *rules,
                        QList<LoadError> *errors)
{
    auto source = std::make_shared<const SourceText>(path, text);
    toml::table root;
    try { // toml++ reports syntax errors by exception: caught here, at the boundary
        root = toml::parse(std::string_view(text.constData(), size_t(text.size())),
                           path.toStdString());
    } catch (const toml::parse_error &e) {
        errors->append({path, int(e.source().begin.line), int(e.source().begin.column),
                        QString::fromStdString(std::string(e.description()))});
        return;
    }
    auto err = [&](const toml::node &n, const QString &message) {
        errors->append({path, int(n.source().begin.line), int(n.source().begin.column), message});
    };
    for (const auto &[key, value] : root) {
        if (key.str() != "rule")
            err(value, QString("unknown top-level key '%1' (expected [[rule]])")
                           .arg(QString::fromStdString(std::string(key.str()))));
    }
    const toml::node *ruleNode = root.get("rule");
    if (!ruleNode)
        return;
    const toml::array *list = ruleNode->as_array();
    if (!list || !list->is_array_of_tables()) {
        err(*ruleNode, "'rule' must be an array of tables: write [[rule]]");
        return;
    }
    for (const toml::node &entry : *list) {
        const toml::table &t = *entry.as_table();
        RuleSpec spec;
        spec.source = source;
        spec.line = int(t.source().begin.line);
        spec.column = int(t.source().begin.column);
        bool ok = true;
        for (const auto &[k, v] : t) {
            const std::string_view name = k.str();
            if (name != "name" && name != "sql" && name != "actions" && name != "enabled" &&
                name != "description") {
                err(v, QString("unknown key '%1' in [[rule]] (expected name, sql, actions, "
                               "enabled, description)")
                           .arg(QString::fromStdString(std::string(name))));
                ok = false;
            }
        }
        if (const toml::node *n = t.get("name")) {
            if (!n->is_string() || n->as_string()->get().empty()) {
                err(*n, "'name' must be a non-empty string");
                ok = false;
            } else if (n->as_string()->get().find_first_of(std::string("/+#\0", 4)) !=
                       std::string::npos) {
                // The name is a topic level in $SYS/rules/<name>/...
                err(*n, "'name' must not contain '/', '+', '#' or NUL (it is a topic level in "
                        "$SYS/rules/<name>/...)");
                ok = false;
            } else {
                spec.name = QString::fromStdString(n->as_string()->get());
            }
        } else {
            errors->append({path, spec.line, spec.column, "[[rule]] has no 'name'"});
            ok = false;
        }
        if (const toml::node *n = t.get("sql")) {
            if (!n->is_string()) {
                err(*n, "'sql' must be a string");
                ok = false;
            } else {
                spec.sql = QByteArray::fromStdString(n->as_string()->get());
                const qsizetype start =
                    source->offsetOf(int(n->source().begin.line), int(n->source().begin.column));
                if (!mapStringOffsets(text, start, spec.sql, &spec.sqlOffsets))
                    spec.sqlOffsets.clear(); // errors then point at the rule
            }
        } else {
            errors->append({path, spec.line, spec.column,
                            spec.name.isEmpty()
                                ? QString("[[rule]] has no 'sql'")
                                : QString("rule '%1' has no 'sql'").arg(spec.name)});
            ok = false;
        }
        if (const toml::node *n = t.get("enabled")) {
            if (!n->is_boolean()) {
                err(*n, "'enabled' must be true or false");
                ok = false;
            } else {
                spec.enabled = n->as_boolean()->get();
            }
        }
        if (const toml::node *n = t.get("actions")) {
            const toml::array *acts = n->as_array();
            if (!acts) {
                err(*n, "'actions' must be an array of tables");
                ok = false;
            } else {
                for (const toml::node &a : *acts) {
                    const toml::table *at = a.as_table();
                    if (!at) {
                        err(a, "an action must be a table such as { type = \"log\" }");
                        ok = false;
                        continue;
                    }
                    ActionSpec action;
                    action.line = int(a.source().begin.line);
                    action.column = int(a.source().begin.column);
                    action.params = fromToml(a).toMap();
                    const toml::node *type = at->get("type");
                    if (!type || !type->is_string()) {
                        err(a, "action has no 'type' (republish, bridge, webhook, store, log)");
                        ok = false;
                        continue;
                    }
                    action.type = QString::fromStdString(type->as_string()->get());
                    spec.actions.append(action);
                }
            }
        }
        if (ok)
            rules->append(spec);
    }
}

} // namespace ferry::rules
